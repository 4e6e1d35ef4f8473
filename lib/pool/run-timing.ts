// The timing rules every runner follows, a local pool's jobs and the queue's
// requesters alike: a deadline counts from the call, waiting included; a
// timeout from the moment a child begins the run. A run whose deadline passes
// before any child began it never started (503, safe to try elsewhere); one
// begun ran out of time (504).
import { DeadlineError, TaskTimeoutError } from './errors.js';
import type { Run } from './run-options.js';

/** What a run whose deadline passed fails with. */
export const pastDeadline = (run: Pick<Run, 'task' | 'deadlineMs'>, begun: boolean): DeadlineError | TaskTimeoutError =>
  begun ? new TaskTimeoutError(run.task, run.deadlineMs, 'deadline') : new DeadlineError(run.task, run.deadlineMs);

/** Once a child began the run: which limit ends it first, after how many ms (none if neither is set). */
export function firstLimit(run: Pick<Run, 'task' | 'timeoutMs' | 'deadlineMs'>, deadlineLeftMs: number): { afterMs: number; error: TaskTimeoutError } | undefined {
  if (run.timeoutMs === Infinity && deadlineLeftMs === Infinity) return undefined;
  if (deadlineLeftMs < run.timeoutMs) return { afterMs: Math.max(0, deadlineLeftMs), error: new TaskTimeoutError(run.task, run.deadlineMs, 'deadline') };
  return { afterMs: run.timeoutMs, error: new TaskTimeoutError(run.task, run.timeoutMs) };
}
