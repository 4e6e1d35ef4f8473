// Types that tie a pool to its tasks module: `new ChildPool<typeof import('./tasks.js')>`
// checks each run's task name and arguments and types its result. Types only.
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

/** The names of a tasks module's function exports. */
export type TaskName<M> = IsUntyped<M> extends true
  ? string
  : Exclude<{ [K in keyof M]-?: M[K] extends TaskFunction ? K : never }[keyof M], LifecycleExport> & string;

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

/** run() of a pool: typed by the tasks module when there is one. */
export type RunTask<M> = IsUntyped<M> extends true
  ? <T = unknown>(task: string, args?: readonly unknown[], options?: RunOptions) => Promise<T>
  : <K extends TaskName<M>>(task: K, ...rest: RunRest<TaskArgs<M, K>>) => Promise<TaskResult<M, K>>;

/** Type-only key that carries a runner's tasks module, so helpers such as offload() can infer it. */
export declare const TASKS: unique symbol;

/** What code that runs tasks needs of a pool, and all that offload() uses. */
export interface TaskRunner<M = UntypedTasks> {
  readonly [TASKS]?: M;
  readonly run: RunTask<M>;
}
