// How many children to start now, and how many of those are for runs that
// wait: a pure decision on the fleet's counts and the pool's targets.
import type { FleetCounts } from '../fleet.js';

export interface StartInputs {
  counts: FleetCounts;
  /** Runs waiting for a child. */
  queued: number;
  minChildren: number;
  maxChildren: number;
  /** Idle children the spares policy keeps now. */
  spares: number;
  /** Tasks arrive faster than children start: a taken spare is replaced at once. */
  replaceAtOnce: boolean;
  /** Open (keeps minChildren and spares), or closing (starts only for waiting runs). */
  open: boolean;
  /** The tasks module does not load: a pool with no child still starts one to find out whether it was fixed. */
  probe: boolean;
}

export interface StartPlan {
  /** Children to start, within maxChildren. */
  start: number;
  /** The first this many of them are for waiting runs (the back-off does not hold those back). */
  forRuns: number;
}

export function startPlan({ counts, queued, minChildren, maxChildren, spares, replaceAtOnce, open, probe }: StartInputs): StartPlan {
  const forRuns = queued - counts.starting;
  // Spares are idle children and starting ones no waiting run will take. At
  // a low arrival rate a taken spare is replaced after its answer (a start-up
  // would compete with the task for the CPU): children taken (busy, or
  // starting for a waiting run) count as spares until then.
  const covering = replaceAtOnce ? counts.idle + Math.max(0, -forRuns) : counts.starting + counts.ready;
  let wanted = Math.max(forRuns, open ? Math.max(minChildren - counts.live, spares - covering) : 0);
  if (probe && counts.alive === 0) wanted = Math.max(wanted, 1);
  const start = Math.max(0, Math.min(wanted, maxChildren - counts.alive));
  return { start, forRuns: Math.max(0, Math.min(forRuns, start)) };
}
