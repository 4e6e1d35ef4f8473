// How a run ended, one word each: what the stats count, the run span and
// the diagnostics_channel events report, and a Job settles with.
export type Outcome = 'completed' | 'failed' | 'crashed' | 'timedOut' | 'expired' | 'aborted' | 'rejected' | 'closed';
