// How a child is told to leave. Retirement, the memory cap and cancellation
// only decide; the Scheduler carries each decision out through carryOut(),
// the one place a child is made to go. (A child that served its tasksPerChild
// leaves by itself: in-child/entry.ts.)
import type { Job } from './job.js';
import type { ChildWorker } from './worker.js';

export type Exit =
  /** An idle child, gracefully: its teardown() runs; SIGKILL after the kill grace. */
  | { how: 'stop' }
  /** SIGTERM to its process group (SIGKILL after the grace), or SIGKILL at once. A run it held is settled by whoever decided. */
  | { how: 'kill'; signal?: 'SIGTERM' | 'SIGKILL' }
  /** A cancelled stream run: the child closes its generator and stays, or is killed after the grace. */
  | { how: 'cancel'; job: Job }
  /** A child that must not become ready (its setup() past the memory cap): SIGKILL, counted as a load failure. */
  | { how: 'fail-start'; reason: string };

export function carryOut(child: ChildWorker, exit: Exit): void {
  switch (exit.how) {
    case 'stop':
      return child.stop();
    case 'kill':
      return child.kill(exit.signal);
    case 'cancel':
      return child.cancel(exit.job);
    case 'fail-start':
      return child.failStart(exit.reason);
  }
}
