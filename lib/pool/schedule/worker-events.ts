// What a ChildWorker tells the pool: it became ready, it answered a run,
// or it is gone (and why, as one value).
import type { ChildStartError, TaskLoadError } from '../errors.js';
import type { Job } from './job.js';

/** Why a child is gone: one value, so the pool never decodes it from flags. */
export type ExitCause =
  /** We asked it to go (stop, kill, its task limit): no failure. */
  | 'asked'
  /** It died while running a run (`job`, begun). */
  | 'crashed'
  /** It died before it was ready: its tasks module or setup() failed (`loadError`). */
  | 'not-loaded'
  /** No process could be started at all: the machine is out of something (`startError`). */
  | 'not-started'
  /** It died by itself while idle, or left after an error no task caught. */
  | 'died-idle';

/** Why a child is gone, from what was known at its end. */
export function exitCause(known: { started: boolean; crashedInRun: boolean; wasReady: boolean; loadError: boolean; asked: boolean }): ExitCause {
  if (!known.started) return 'not-started';
  if (known.crashedInRun) return 'crashed';
  if (!known.wasReady && (known.loadError || !known.asked)) return 'not-loaded';
  return known.asked ? 'asked' : 'died-idle';
}

export interface WorkerExit {
  cause: ExitCause;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The run it held when it died: `begun`, or handed back (the child said, as it left, it never began it). */
  job: Job | undefined;
  begun: boolean;
  /** Runs sent ahead (prefetch) that it never began: for other children. */
  waiting: Job[];
  loadError: TaskLoadError | undefined;
  startError: ChildStartError | undefined;
}

export type Answer = { ok: true; value: unknown } | { ok: false; error: Error };

export interface ChildWorkerEvents {
  /** Loaded its tasks module; can take a run. `tasks`: the module's task names, as the child read them. */
  ready: [tasks: unknown];
  /** Answered its run; free again unless it has served its tasksPerChild (then `leaving`). */
  answer: [Job, Answer];
  /** A value its stream run yielded, and its size as the child counted it. */
  chunk: [Job, unknown, number];
  exit: [WorkerExit];
}
