// reply.offload(): a run in a pool's child, answered through Fastify's own
// reply, so schemas, serializers, onSend hooks (compress, helmet, CORS) and
// the logger apply, unlike an offload() handler behind reply.hijack().
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import { streamChunk, streamTypeOf, TEXT } from '../http/content-type.js';
import { failureResponse } from '../http/failure-response.js';
import { HttpError } from '../http/http-error.js';
import type { LoopPressure } from '../http/loop-pressure.js';
import { beginOffload, type OffloadCall } from '../http/offload-core.js';
import type { LooseRunner } from '../pool/task-types.js';
import type { ReplyOffloadOptions } from './types.js';

/**
 * The error Fastify's error handling gets for a failed run: failureResponse's
 * status, headers and one line as its message (safe to show), the run's own
 * error as `cause` and its `code`, for the log and a setErrorHandler.
 */
export function fastifyFailure(error: unknown): HttpError {
  const failure = failureResponse(error);
  const failed = new HttpError(failure.status, failure.body.trimEnd(), failure.headers, { cause: error });
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') Object.assign(failed, { code });
  return failed;
}

/**
 * The values of a stream run as a Readable: strings and bytes as they are,
 * anything else as a JSON line. The first is already read. A failure after
 * it cuts the response short; `failed` hears it first (Fastify itself only
 * warns of a stream that errs once its headers are out).
 */
function readableOf(first: unknown, values: AsyncIterator<unknown>, failed: (error: unknown) => void): Readable {
  async function* all(): AsyncGenerator<string | Uint8Array> {
    try {
      yield streamChunk(first);
      for (let next = await values.next(); next.done !== true; next = await values.next()) yield streamChunk(next.value);
    } catch (error) {
      failed(error);
      throw error;
    } finally {
      // Destroyed early (the client left): the generator in the child is closed and its child freed.
      await values.return?.();
    }
  }
  return Readable.from(all(), { objectMode: false });
}

/** The reply, typed as what awaiting it gives: nothing, once the response has gone out. */
const sent = (reply: FastifyReply): Promise<void> => reply as unknown as Promise<void>;

/** The response is out or going (reply.send() ran, or the reply was hijacked): a second send would only warn. */
const answered = (reply: FastifyReply): boolean => reply.sent || reply.raw.headersSent;

export interface OffloadDeps {
  pool(name: string | undefined): LooseRunner;
  pressure: LoopPressure | undefined;
  /** Each run's queue bound (the plugin's maxQueue). */
  maxQueue: number;
}

/** The function decorated onto every reply. */
export function replyOffload(deps: OffloadDeps) {
  // Returns the reply, as Fastify asks of an async handler that sends: a
  // reply is a thenable, so the promise settles (with undefined) once the
  // response has gone out, and Fastify never sends a second time.
  return async function offload(this: FastifyReply, task: string, args: readonly unknown[], options: Omit<ReplyOffloadOptions, 'stream'> & { stream?: unknown } = {}): Promise<void> {
    const reply = this;
    // Already answered: a run would be work nobody reads. Say so once, for the route's author.
    if (answered(reply)) {
      reply.log.warn(`reply.offload("${task}") was called after the reply was sent; nothing was run`);
      return sent(reply);
    }
    let call: OffloadCall;
    try {
      call = beginOffload(deps.pool(options.pool), task, reply.request.raw, reply.raw, { timeoutMs: options.timeoutMs, deadlineMs: options.deadlineMs, maxQueue: deps.maxQueue, pressure: deps.pressure }, 'reply.offload');
    } catch (error) {
      // Overloaded, or no such pool: answered before any work.
      return sent(reply.send(fastifyFailure(error)));
    }
    const { signal } = call;
    try {
      if (options.stream !== true) {
        const result = await call.run(args);
        // The route sent its own answer while the run went on.
        return answered(reply) ? sent(reply) : sent(reply.send(result));
      }
      const values = call.stream(args);
      // The first value decides the type, and a failure before it can still be a status.
      const first = await values.next();
      if (answered(reply)) {
        await values.return?.();
        return sent(reply);
      }
      if (first.done === true) return sent(reply.type(options.contentType ?? TEXT).send(''));
      if (options.contentType !== undefined) reply.type(options.contentType);
      else if (!reply.hasHeader('content-type')) reply.type(streamTypeOf(first.value));
      // HEAD: Fastify would drain the body unseen, so the rest is not worth
      // producing. An empty stream, not '', keeps GET's headers (no Content-Length: 0).
      if (reply.request.method === 'HEAD') {
        await values.return?.();
        return sent(reply.send(Readable.from([])));
      }
      const failed = (error: unknown): void => {
        // The client left: its run was cancelled, nothing failed.
        if (signal.aborted) return;
        reply.request.log.error({ err: error, task }, `reply.offload("${task}") failed after its first value; the response was cut short`);
      };
      return sent(reply.send(readableOf(first.value, values, failed)));
    } catch (error) {
      // The client left: nobody reads an answer, and Fastify sends nothing to a closed socket.
      if (signal.aborted || answered(reply)) return sent(reply);
      return sent(reply.send(fastifyFailure(error)));
    }
  };
}
