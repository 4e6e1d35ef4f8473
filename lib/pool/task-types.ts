// Types that tie a pool to its tasks module: `new ChildPool<typeof import('./tasks.js')>`
// checks each run's task name and arguments and types its result. Types only.
import type { MapOptions } from './pool-map.js';
import type { RunOptions } from './run-options.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a task may take anything
export type TaskFunction = (...args: any[]) => unknown;

declare const untyped: unique symbol;
/** A pool created without a type parameter: any name, any arguments, as plain JavaScript would call it. */
export interface UntypedTasks {
  readonly [untyped]: true;
}

type IsUntyped<M> = [M] extends [UntypedTasks] ? true : false;

/** Exports a child calls on its own; they are never tasks. */
export type LifecycleExport = 'setup' | 'teardown';

type Primitive = string | number | boolean | bigint | symbol | null | undefined | void;

/**
 * T as it arrives through the IPC channel (V8's structured clone): functions
 * cannot cross, and an object's methods are lost (a class instance or a URL
 * arrives as a plain object, or not at all). Here they become `never`, so a
 * value with one is not assignable to its own Crossing type.
 */
type Crossing<T> = T extends Primitive | Date | RegExp | ArrayBuffer | ArrayBufferView | Error
  ? T
  : T extends (...args: never[]) => unknown
    ? never
    : T extends ReadonlyMap<infer K, infer V>
      ? ReadonlyMap<Crossing<K>, Crossing<V>>
      : T extends ReadonlySet<infer E>
        ? ReadonlySet<Crossing<E>>
        : T extends object
          ? { [P in keyof T]: Crossing<T[P]> }
          : T;

/** True when a value of type T arrives in the other process as it was sent. */
export type CrossesIpc<T> = [T] extends [Crossing<T>] ? true : false;

/** A task whose arguments and result can cross the IPC channel. */
type Runnable<F> = F extends (...args: infer A) => infer R ? (CrossesIpc<A> extends true ? (CrossesIpc<Awaited<R>> extends true ? true : false) : false) : false;

/**
 * The names of a tasks module's function exports that a pool can run: a task
 * that takes a function or returns a class instance, a URL or a function is
 * left out, since it would fail, or arrive as `{}`, at run time.
 */
export type TaskName<M> = IsUntyped<M> extends true
  ? string
  : Exclude<{ [K in keyof M]-?: M[K] extends TaskFunction ? (Runnable<M[K]> extends true ? K : never) : never }[keyof M], LifecycleExport> & string;

/** The parameters of task K, as the tuple run() takes. */
export type TaskArgs<M, K> = IsUntyped<M> extends true
  ? readonly unknown[]
  : K extends keyof M
    ? M[K] extends (...args: infer A) => unknown
      ? A
      : never
    : never;

/** What run() resolves with: task K's awaited return value. */
export type TaskResult<M, K> = IsUntyped<M> extends true
  ? unknown
  : K extends keyof M
    ? M[K] extends (...args: never[]) => infer R
      ? Awaited<R>
      : never
    : never;

/** Arguments may be left out when the task takes none (or only optional ones). */
type RunRest<A> = [] extends A ? [args?: A, options?: RunOptions] : [args: A, options?: RunOptions];

/** Generator tasks, which run() does not take: it would answer with a generator, which cannot cross. */
type StreamOnlyName<M> = Exclude<StreamTaskName<M>, TaskName<M>>;

/** What TypeScript shows, in the task name's place, for run() of a generator task. */
export type UseStreamHint = 'this task is a generator (function*): use pool.stream(task, args), which yields its values';

/** What TypeScript shows, in stream's place, for `stream: true` with a task that is not a generator (offload(), reply.offload()). */
export type StreamNeedsGeneratorHint = 'stream: true needs a task that is a generator (function*); for a plain task leave stream out';

/** run() of a pool: typed by the tasks module when there is one. */
export type RunTask<M> = IsUntyped<M> extends true
  ? <T = unknown>(task: string, args?: readonly unknown[], options?: RunOptions) => Promise<T>
  : <K extends TaskName<M> | StreamOnlyName<M>>(
      // A generator task's name is refused with the hint as the expected type.
      task: K extends TaskName<M> ? K : UseStreamHint,
      ...rest: K extends TaskName<M> ? RunRest<TaskArgs<M, K>> : [args?: readonly unknown[], options?: RunOptions]
    ) => Promise<K extends TaskName<M> ? TaskResult<M, K> : never>;

/** map() of a pool: one task over many argument lists, typed by the tasks module when there is one. */
export type MapTask<M> = IsUntyped<M> extends true
  ? <T = unknown>(task: string, items: Iterable<readonly unknown[]>, options?: MapOptions) => Promise<T[]>
  : <K extends TaskName<M>>(task: K, items: Iterable<Readonly<TaskArgs<M, K>>>, options?: MapOptions) => Promise<TaskResult<M, K>[]>;

/** Type-only key that carries a runner's tasks module, so helpers such as offload() can infer it. */
export declare const TASKS: unique symbol;

/** run() as code calls it that does not know the tasks module (offload(), the Fastify plugin, a worker host): any name, any arguments. */
export type LooseRun = (task: string, args: readonly unknown[], options: RunOptions) => Promise<unknown>;
/** stream() as such code calls it: the values, and (a ChildPool's) a promise of the run's end. */
export type LooseStream = (task: string, args: readonly unknown[], options: RunOptions) => AsyncIterator<unknown> & { readonly ended?: Promise<Error | undefined> };

/**
 * A runner of any tasks module (a ChildPool, a QueueRunner, or your own):
 * what takes a pool without typing its tasks, the Fastify plugin and a
 * worker host (slowlane/queue's WorkerPool is this). Only run() is required.
 */
export interface AnyRunner {
  readonly run: (...args: never) => unknown;
  readonly stream?: (...args: never) => unknown;
  expectTask?(name: string): void;
  /** Resolves once its tasks module loads: a worker host that stopped taking jobs because it did not asks again with it. */
  ready?(): Promise<void>;
  /** A pool's size: a worker host takes as many jobs at once. */
  readonly options?: { readonly maxChildren: number };
}

/** An AnyRunner as the library calls it inside (offload(), the plugin, a worker host): any name, any arguments. */
export interface LooseRunner {
  run: LooseRun;
  stream?: LooseStream | undefined;
  expectTask?(name: string): void;
}

/** What code that runs tasks needs of a pool, and all that offload() uses. */
export interface TaskRunner<M = UntypedTasks> {
  readonly [TASKS]?: M;
  readonly run: RunTask<M>;
  /** Told each task name a route will run, so a misspelt one is reported at ready(). Optional. */
  expectTask?(name: string): void;
}

type Yielded<R> = Awaited<R> extends string ? never : Awaited<R> extends AsyncIterable<infer Y> ? Y : Awaited<R> extends Iterable<infer Y> ? Y : never;

/** The values task K yields (an async function*, a function*, or anything iterable but a string it returns). */
export type TaskYield<M, K> = IsUntyped<M> extends true ? unknown : K extends keyof M ? (M[K] extends (...args: never[]) => infer R ? Yielded<R> : never) : never;

/** The names of a module's tasks that yield values, each of which can cross the IPC channel: what stream() takes. */
export type StreamTaskName<M> = IsUntyped<M> extends true
  ? string
  : Exclude<{ [K in keyof M]-?: M[K] extends (...args: infer A) => infer R ? ([Yielded<R>] extends [never] ? never : CrossesIpc<A> extends true ? (CrossesIpc<Yielded<R>> extends true ? K : never) : never) : never }[keyof M], LifecycleExport> & string;

/** What stream() returns: the run's values, and when the run ended. */
export interface RunStream<T> extends AsyncIterableIterator<T> {
  /**
   * Resolves once the run has ended, even with values still unread: with its
   * error if it failed (a timeout, a crash), undefined if it completed or the
   * reader closed it. Never rejects. A writer waiting on a slow consumer
   * races it to learn of a timeout at once.
   */
  readonly ended: Promise<Error | undefined>;
}

/** stream() of a pool: the values a generator task yields, in order, typed by the tasks module when there is one. */
export type StreamTask<M> = IsUntyped<M> extends true
  ? <T = unknown>(task: string, args?: readonly unknown[], options?: RunOptions) => RunStream<T>
  : <K extends StreamTaskName<M>>(task: K, ...rest: RunRest<TaskArgs<M, K>>) => RunStream<TaskYield<M, K>>;

/** A runner that also streams: what offload()'s stream option needs. */
export interface StreamRunner<M = UntypedTasks> extends TaskRunner<M> {
  readonly stream: StreamTask<M>;
}
