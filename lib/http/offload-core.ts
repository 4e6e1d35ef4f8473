// One offloaded run's request side, as every HTTP adapter starts it (offload()
// for node:http and Express, reply.offload() for Fastify): shed under loop
// pressure before any work, a signal that aborts when the client leaves, the
// run's options (timeout, deadline, queue bound, the request as its label),
// then run() or stream(). The adapters differ only in how they answer.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_LABEL_CHARS } from '../defaults.js';
import type { RunOptions } from '../pool/run-options.js';
import type { LooseRunner, LooseStream } from '../pool/task-types.js';
import type { LoopPressure } from './loop-pressure.js';
import { requestSignal } from './request-signal.js';

/** What an adapter fixes for its runs: the route's (offload()) or the call's (reply.offload()). */
export interface OffloadSettings {
  timeoutMs?: number | undefined;
  deadlineMs?: number | undefined;
  /** Each run's queue bound: past it, QueueFullError (503). */
  maxQueue: number;
  pressure?: LoopPressure | undefined;
}

export interface OffloadCall {
  /** Aborts when the client leaves before its response has finished: the run is then cancelled and nobody reads its answer. */
  readonly signal: AbortSignal;
  run(args: readonly unknown[]): Promise<unknown>;
  /** The values of a generator task. */
  stream(args: readonly unknown[]): ReturnType<LooseStream>;
}

/** The label a run carries to log lines, spans and a worker host: the request's method and URL. */
export const requestLabel = (req: IncomingMessage): string => `${req.method ?? 'GET'} ${req.url ?? '/'}`.slice(0, MAX_LABEL_CHARS);

/** Throws unless the pool has stream(); `who` is the call that asked, for the message. */
export function assertStreams(pool: LooseRunner, who: string): asserts pool is LooseRunner & { stream: LooseStream } {
  if (typeof pool.stream !== 'function') throw new TypeError(`${who}(..., { stream: true }) needs a pool with stream(), such as a ChildPool`);
}

/**
 * Starts a request's run. Throws the overload error (503, Retry-After) while
 * the loop is under pressure, before any work: the requests this process can
 * answer at once still get answered.
 */
export function beginOffload(pool: LooseRunner, task: string, req: IncomingMessage, res: ServerResponse, settings: OffloadSettings, who: string): OffloadCall {
  if (settings.pressure?.shouldShed()) throw settings.pressure.overloaded();
  const signal = requestSignal(req, res);
  const options: RunOptions = { signal, timeoutMs: settings.timeoutMs, deadlineMs: settings.deadlineMs, maxQueue: settings.maxQueue, label: requestLabel(req) };
  return {
    signal,
    run: (args) => pool.run.call(pool, task, args, options),
    stream: (args) => {
      assertStreams(pool, who);
      return pool.stream.call(pool, task, args, options);
    },
  };
}
