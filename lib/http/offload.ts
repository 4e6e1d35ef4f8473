// offload(): a node:http handler (and so an Express one) that runs a route's
// work in a pool's child and writes the answer on the event loop when the
// child's message arrives, as the `unblock` decorator did for Tornado. It
// knows the pool only as a TaskRunner.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { OFFLOAD_DEFAULTS } from '../defaults.js';
import { checkCount, checkTimeout } from '../pool/pool-options.js';
import type { LooseRunner, StreamNeedsGeneratorHint, StreamRunner, StreamTaskName, TaskArgs, TaskName, TaskResult, TaskRunner, TaskYield } from '../pool/task-types.js';
import { BYTES, JSON_TYPE, TEXT } from './content-type.js';
import { endBroken, streamBody } from './stream-body.js';
import { failureJson, failureResponse } from './failure-response.js';
import { HttpError } from './http-error.js';
import { assertStreams, beginOffload, type OffloadCall } from './offload-core.js';
import { pressureFrom, type LoopPressure } from './loop-pressure.js';

/** Reads the task's arguments from the request; throw an HttpError (or any error with a 4xx `status`) for bad input. */
export type ArgsFrom<A, Req extends IncomingMessage = IncomingMessage> = (req: Req) => A | Promise<A>;

export interface OffloadOptions<R = unknown> {
  /** This route's timeout in ms, from the moment a ready child gets the task. Default: the pool's timeoutMs. */
  timeoutMs?: number;
  /** This route's deadline in ms from the request's arrival at the pool to the answer, waiting included (past it, 504). Default: the pool's deadlineMs. */
  deadlineMs?: number;
  /** How long a promise from argsFrom may take (reading a body): past it, 408. Default 10 s. */
  argsTimeoutMs?: number;
  /** The answer's content type. Default: text/plain for a string, application/octet-stream for bytes, application/json otherwise. */
  contentType?: string;
  /** Turns the task's result into the body (runs on the event loop). Default: the result as it is. */
  render?: (result: R, req: IncomingMessage) => unknown;
  /** Sees every failure that is the server's (5xx) in full, the client getting only failureResponse's line: log it here. A client's own 4xx (bad input) is not reported. */
  onFailure?: (error: unknown, req: IncomingMessage) => void;
  /** 'json' answers failures as `{ status, error, code?, message }` (application/json) instead of one line of text. Default 'text'. */
  failureBody?: 'text' | 'json';
  /**
   * 'next' hands failures to Express's `next(error)` (the error keeps its
   * `status`, `expose` and `headers`) so the app's error middleware answers;
   * without a `next` the handler answers itself. Default 'respond'.
   */
  failures?: 'respond' | 'next';
  /**
   * Refuse new runs with 503 and Retry-After while this process's event loop
   * has been more than this many ms late within the last second (Fastify
   * under-pressure's maxEventLoopDelay). Default: never.
   */
  maxLoopDelayMs?: number;
  /** The same with a monitor of your own (to share it, or to read its stats()). */
  loopPressure?: LoopPressure;
  /**
   * Refuse a request with 503 and Retry-After (QueueFullError) when this many
   * runs already wait for one of the pool's children; the pool's own maxQueue
   * applies too. Default 100.
   */
  maxQueue?: number;
  /**
   * A generator task (pool.stream()): each value is written as it comes,
   * honouring the socket's backpressure. A failure after the first value ends
   * the response without its final chunk. Default false.
   */
  stream?: boolean;
}

/** A node:http handler; Express passes `next` too. */
export type RequestHandler<Req extends IncomingMessage = IncomingMessage> = (req: Req, res: ServerResponse, next?: (error?: unknown) => void) => void;

const isThenable = (value: unknown): value is PromiseLike<unknown> => typeof (value as { then?: unknown } | null)?.then === 'function';


// A is inferred from argsFrom's return value; the `[]` in its constraint is
// what makes TypeScript infer `[n]` as a tuple there rather than number[].
// Req lets argsFrom take a framework's request type (Express's, with req.query).
export function offload<
  M,
  K extends StreamTaskName<M>,
  A extends TaskArgs<M, K> | ([] extends TaskArgs<M, K> ? [] : never),
  Req extends IncomingMessage = IncomingMessage,
>(pool: StreamRunner<M>, task: K, argsFrom: ArgsFrom<A, Req>, options: Omit<OffloadOptions<TaskYield<M, K>>, 'render'> & { stream: true }): RequestHandler<Req>;
export function offload<
  M,
  K extends TaskName<M>,
  A extends TaskArgs<M, K> | ([] extends TaskArgs<M, K> ? [] : never),
  Req extends IncomingMessage = IncomingMessage,
>(pool: TaskRunner<M>, task: K, argsFrom: ArgsFrom<A, Req>, options?: Omit<OffloadOptions<TaskResult<M, K>>, 'stream'> & { stream?: false | StreamNeedsGeneratorHint }): RequestHandler<Req>;
export function offload(pool: { readonly run: unknown; expectTask?(name: string): void }, task: string, argsFrom: ArgsFrom<unknown>, options: Omit<OffloadOptions, 'stream'> & { stream?: unknown } = {}): RequestHandler {
  if (typeof argsFrom !== 'function') throw new TypeError('offload(pool, task, argsFrom): argsFrom must be a function that returns the task\'s arguments');
  // Within offload the module's type is generic; run() and stream() are the same functions either way.
  const runner = pool as unknown as LooseRunner;
  const { contentType, render, onFailure, failureBody = 'text', failures = 'respond' } = options;
  const stream = options.stream === true;
  if (stream) assertStreams(runner, 'offload');
  const argsTimeoutMs = checkTimeout('offload option argsTimeoutMs', options.argsTimeoutMs ?? OFFLOAD_DEFAULTS.argsTimeoutMs);
  // Checked here, so a bad value fails at start-up rather than on every request.
  const timeoutMs = options.timeoutMs === undefined ? undefined : checkTimeout('offload option timeoutMs', options.timeoutMs);
  const deadlineMs = options.deadlineMs === undefined ? undefined : checkTimeout('offload option deadlineMs', options.deadlineMs);
  const settings = { timeoutMs, deadlineMs, maxQueue: checkCount('maxQueue of offload()', options.maxQueue ?? OFFLOAD_DEFAULTS.maxQueue, 0, Number.MAX_SAFE_INTEGER, true), pressure: pressureFrom(options) };
  // A misspelt name is reported at the pool's ready(), before any request.
  pool.expectTask?.(task);
  const answerFailure = (req: IncomingMessage, res: ServerResponse, error: unknown, next: ((error?: unknown) => void) | undefined): void => {
    const failure = failureBody === 'json' ? failureJson(error) : failureResponse(error);
    if (failure.status >= 500) onFailure?.(error, req);
    if (failures === 'next' && next !== undefined) return next(error);
    write(res, failure.status, failure.body, failureBody === 'json' ? JSON_TYPE : TEXT, failure.headers);
  };
  return (req, res, next) => {
    let call: OffloadCall;
    try {
      call = beginOffload(runner, task, req, res, settings, 'offload');
    } catch (overloaded) {
      return answerFailure(req, res, overloaded, next);
    }
    const { signal } = call;
    const start = (args: unknown): Promise<unknown> => {
      // A body nobody reads stops the socket being read, and then a client
      // that leaves is never noticed: discard what argsFrom left unread.
      req.resume();
      if (stream) return streamBody(res, call.stream(args as readonly unknown[]), contentType);
      return call.run(args as readonly unknown[]);
    };
    let running: Promise<unknown>;
    try {
      // Called at once, not a microtask later: most argsFrom read the URL and return.
      const args = argsFrom(req);
      running = isThenable(args) ? withinTime(args, argsTimeoutMs).then(start) : start(args);
    } catch (error) {
      running = Promise.reject(error);
    }
    running
      .then((result) => {
        if (stream) return; // written as it came
        const body = render === undefined ? result : render(result, req);
        writeBody(res, body, contentType);
      })
      .catch((error: unknown) => {
        if (signal.aborted) return; // nobody is listening for the answer
        // Mid-stream: end without the final chunk, so the client can tell the
        // body is incomplete; what was written before still goes out, to a
        // client that reads it within the grace.
        if (res.headersSent) {
          onFailure?.(error, req);
          endBroken(res);
          return;
        }
        answerFailure(req, res, error, next);
      });
  };
}

/** An argsFrom promise that never settles (a body that never ends) is answered 408, not left hanging. */
function withinTime<T>(args: PromiseLike<T>, ms: number): Promise<T> {
  if (ms === Infinity) return Promise.resolve(args);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HttpError(408, `request timed out: its arguments were not read within ${ms} ms; send the whole request at once`)), ms);
  });
  return Promise.race([Promise.resolve(args), late]).finally(() => clearTimeout(timer));
}


/** Writes a task's value as the answer: bytes and strings as they are, undefined as 204, anything else as JSON. */
export function writeBody(res: ServerResponse, body: unknown, contentType?: string): void {
  if (body === undefined) return write(res, 204, undefined, contentType);
  if (typeof body === 'string') return write(res, 200, body, contentType ?? TEXT);
  if (body instanceof Uint8Array) return write(res, 200, body, contentType ?? BYTES);
  let json: string;
  try {
    json = `${JSON.stringify(body)}\n`;
  } catch {
    // A BigInt or a cycle: the task answered, but not in a form JSON can carry.
    return write(res, 500, 'task result cannot be sent as JSON; return plain data or set the render option\n', TEXT);
  }
  write(res, 200, json, contentType ?? JSON_TYPE);
}

function write(res: ServerResponse, status: number, body: string | Uint8Array | undefined, contentType: string | undefined, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const head: Record<string, string | number> = { ...headers };
  if (body !== undefined) {
    head['content-type'] = contentType ?? TEXT;
    head['content-length'] = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  }
  try {
    res.writeHead(status, head);
  } catch {
    // A header node:http refuses (a bad contentType option): drop the connection rather than the server.
    res.destroy();
    return;
  }
  res.end(body); // node:http leaves the body out for HEAD
}
