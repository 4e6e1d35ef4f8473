// What a caller can set for one run, and the checks that turn a bad call
// into a rejected promise with a one-line reason.
import { MAX_LABEL_CHARS } from '../defaults.js';
import { isTraceCarrier, type TraceCarrier } from '../trace/carrier.js';
import { checkCount, checkTimeout } from './pool-options.js';

export interface RunOptions {
  /** Aborting removes a waiting task from the queue, or kills the child running it. */
  signal?: AbortSignal | undefined;
  /** Overrides the pool's timeoutMs for this run: ms from the moment a ready child gets the task. */
  timeoutMs?: number | undefined;
  /** Overrides the pool's deadlineMs for this run: ms from this call to the answer, waiting included. */
  deadlineMs?: number | undefined;
  /**
   * A short text naming the run in logs (offload() passes the request's
   * method and URL). A ChildPool puts it on the run's span and events;
   * slowlane/queue carries it to the worker host's log line.
   */
  label?: string | undefined;
  /**
   * Refuse this run with QueueFullError if it would wait behind this many
   * runs already waiting for a child; the pool's own maxQueue applies too.
   * offload() sets it, so a server sheds under a flood while a script's runs
   * on the same kind of pool just wait. slowlane/queue ignores it.
   */
  maxQueue?: number | undefined;
  /**
   * The trace this run belongs to, when it is not the caller's active
   * OpenTelemetry context: its span becomes the parent of the run's span.
   * slowlane/queue's worker host passes the requester's.
   */
  trace?: TraceCarrier | undefined;
}

/**
 * One run as it travels: made once, by checkRun(), and carried by its job.
 * The child's run message (wire/protocol.ts runMessage()) and the queue's job
 * data (queue/wire.ts jobData()) are its wire forms.
 */
export interface Run {
  readonly task: string;
  readonly args: readonly unknown[];
  /** ms from the moment a ready child gets the task; Infinity for none. */
  readonly timeoutMs: number;
  /** ms from the call to the answer, waiting included; Infinity for none. */
  readonly deadlineMs: number;
  readonly signal: AbortSignal | undefined;
  /** This run's queue bound: Infinity when it sets none. */
  readonly maxQueue: number;
  readonly label: string | undefined;
  readonly trace: TraceCarrier | undefined;
}

/** Checks run()'s arguments and makes the run; throws a TypeError or RangeError naming what is wrong. */
export function checkRun(task: unknown, args: unknown, options: unknown, defaults: { timeoutMs: number; deadlineMs: number }): Run {
  if (typeof task !== 'string' || task === '') throw new TypeError('task must be the name of a function the tasks module exports');
  if (!Array.isArray(args)) throw new TypeError("args must be an array of the task's arguments");
  if (typeof options !== 'object' || options === null) throw new TypeError('run options must be an object: { signal, timeoutMs, deadlineMs }');
  const { timeoutMs, deadlineMs, signal } = options as RunOptions;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('run option signal must be an AbortSignal');
  const { label, maxQueue } = options as RunOptions;
  if (label !== undefined && typeof label !== 'string') throw new TypeError('run option label must be a string');
  const { trace } = options as RunOptions;
  if (trace !== undefined && !isTraceCarrier(trace)) throw new TypeError('run option trace must be a span context as plain data: { traceId (32 hex digits), spanId (16), traceFlags, traceState? }');
  return {
    task,
    args: args as readonly unknown[],
    label: label?.slice(0, MAX_LABEL_CHARS),
    maxQueue: maxQueue === undefined ? Infinity : checkCount('maxQueue of a run', maxQueue, 0, Number.MAX_SAFE_INTEGER, true),
    timeoutMs: timeoutMs === undefined ? defaults.timeoutMs : checkTimeout('run option timeoutMs', timeoutMs),
    deadlineMs: deadlineMs === undefined ? defaults.deadlineMs : checkTimeout('run option deadlineMs', deadlineMs),
    signal,
    trace,
  };
}
