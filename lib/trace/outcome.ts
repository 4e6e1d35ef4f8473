// How a run ended, one word each: what a Job settles with and the pool's
// stats count (lib/pool), and what the run span and the diagnostics_channel
// events report (here, below the pool, so both sides can name it).
export type Outcome = 'completed' | 'failed' | 'crashed' | 'timedOut' | 'expired' | 'aborted' | 'rejected' | 'closed';
