// What a caller can set for one run, and the checks that turn a bad call
// into a rejected promise with a one-line reason.
import { checkTimeout } from './pool-options.js';

export interface RunOptions {
  /** Aborting removes a waiting task from the queue, or kills the child running it. */
  signal?: AbortSignal | undefined;
  /** Overrides the pool's timeoutMs for this run: ms from the moment a ready child gets the task. */
  timeoutMs?: number | undefined;
  /** Overrides the pool's deadlineMs for this run: ms from this call to the answer, waiting included. */
  deadlineMs?: number | undefined;
  /**
   * A short text naming the run in logs (offload() passes the request's
   * method and URL). A ChildPool ignores it; slowlane/queue carries it to the
   * worker host's log line.
   */
  label?: string | undefined;
}

export interface CheckedRun {
  timeoutMs: number;
  deadlineMs: number;
  signal: AbortSignal | undefined;
}

/** Checks run()'s arguments; throws a TypeError or RangeError naming what is wrong. */
export function checkRun(task: unknown, args: unknown, options: unknown, defaults: { timeoutMs: number; deadlineMs: number }): CheckedRun {
  if (typeof task !== 'string' || task === '') throw new TypeError('task must be the name of a function the tasks module exports');
  if (!Array.isArray(args)) throw new TypeError("args must be an array of the task's arguments");
  if (typeof options !== 'object' || options === null) throw new TypeError('run options must be an object: { signal, timeoutMs, deadlineMs }');
  const { timeoutMs, deadlineMs, signal } = options as RunOptions;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('run option signal must be an AbortSignal');
  const { label } = options as RunOptions;
  if (label !== undefined && typeof label !== 'string') throw new TypeError('run option label must be a string');
  return {
    timeoutMs: timeoutMs === undefined ? defaults.timeoutMs : checkTimeout('run option timeoutMs', timeoutMs),
    deadlineMs: deadlineMs === undefined ? defaults.deadlineMs : checkTimeout('run option deadlineMs', deadlineMs),
    signal,
  };
}
