// The types slowlane/fastify adds to Fastify: reply.offload(), typed by the
// tasks module of each registered pool. Types only.
import type { LoopPressure } from '../http/loop-pressure.js';
import type { AnyRunner, StreamNeedsGeneratorHint, StreamTaskName, TaskArgs, TaskName, UntypedTasks } from '../pool/task-types.js';

/**
 * Augment this to type reply.offload() by your tasks modules, one property
 * per registered pool (`default` for `{ pool }`):
 *
 *     declare module 'slowlane/fastify' {
 *       interface SlowlanePools { default: typeof import('./tasks.js') }
 *     }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface -- filled in by the user
export interface SlowlanePools {}

/** The name of a registered pool: `default` for `{ pool }`, a key of `{ pools }` otherwise. */
export type PoolName = [keyof SlowlanePools] extends [never] ? string : keyof SlowlanePools & string;
/** A pool's tasks module, as SlowlanePools says; untyped if it says nothing. */
export type TasksOf<P> = P extends keyof SlowlanePools ? SlowlanePools[P] : UntypedTasks;

export type { AnyRunner };

/** Where the plugin's pools come from: one pool, or several by name. They are yours: closing Fastify does not close them. */
export type SlowlaneFastifyOptions = ({ pool: AnyRunner; pools?: never } | { pools: Record<string, AnyRunner>; pool?: never }) & {
  /** Refuse new offloads with 503 and Retry-After while the event loop has been this many ms late within the last second. Default: never. */
  maxLoopDelayMs?: number;
  /** The same with a monitor of your own. */
  loopPressure?: LoopPressure;
  /** Refuse a run with 503 and Retry-After (QueueFullError) when this many already wait for one of its pool's children; a pool's own maxQueue applies too. Default 100. */
  maxQueue?: number;
};

export interface ReplyOffloadOptions<P extends string = string> {
  /** Which registered pool runs it. Default: `default` (the one `{ pool }` registers). */
  pool?: P;
  /** This run's timeout in ms, from the moment a ready child gets it. Default: the pool's. */
  timeoutMs?: number;
  /** This run's deadline in ms from now, waiting included. Default: the pool's. */
  deadlineMs?: number;
  /** Stream a generator task's values as they come (pool.stream()). Default false. */
  stream?: boolean;
  /** The answer's content type. Default: Fastify's for a sent value; for a stream, text/plain for strings, octet-stream for bytes, NDJSON otherwise. */
  contentType?: string;
}

/** The pool reply.offload uses when the call names none: `default`, if SlowlanePools declares it. */
type DefaultPool = 'default' extends PoolName ? 'default' : PoolName;

/**
 * reply.offload(task, args, options?): runs the task in a pool's child,
 * cancelled if the client leaves, and sends its result through this reply
 * (schemas, serializers, hooks); a failure goes to Fastify's error handling
 * with failureResponse()'s status, headers and line. Settles once the
 * response has gone out: `return reply.offload(...)` from an async handler.
 */
export interface ReplyOffload {
  <K extends StreamTaskName<TasksOf<P>>, P extends PoolName = DefaultPool>(task: K, args: TaskArgs<TasksOf<P>, K>, options: ReplyOffloadOptions<P> & { stream: true }): Promise<void>;
  <K extends TaskName<TasksOf<P>>, P extends PoolName = DefaultPool>(task: K, args: TaskArgs<TasksOf<P>, K>, options?: Omit<ReplyOffloadOptions<P>, 'stream'> & { stream?: false | StreamNeedsGeneratorHint }): Promise<void>;
}

declare module 'fastify' {
  interface FastifyReply {
    offload: ReplyOffload;
  }
}
