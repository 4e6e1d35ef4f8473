// A pool of child processes that run the exported functions of one tasks
// module. Its options span the two classic shapes: a warm pool
// (minChildren = maxChildren, tasksPerChild = Infinity) and a fresh process per
// task (tasksPerChild = 1, with spares started ahead of demand). Results come
// back as IPC messages, handled on the event loop; nothing polls.
//
// This is the public face: run(), stream(), map(), ready(), the counters and
// close(). The scheduling behind it is schedule/scheduler.ts.
import { resolvePoolOptions, type ChildPoolOptions, type ResolvedPoolOptions } from './pool-options.js';
import type { PoolDeps } from './pool-deps.js';
import type { RunOptions } from './run-options.js';
import type { MapTask, RunTask, StreamRunner, StreamTask, TASKS, UntypedTasks } from './task-types.js';
import { mapRuns, type MapOptions } from './pool-map.js';
import { openStream } from './schedule/chunk-stream.js';
import { Scheduler } from './schedule/scheduler.js';
import type { ChildInfo, PoolLatency, PoolStats } from './schedule/stats.js';

export type { ChildInfo, LatencySummary, PoolLatency, PoolStats } from './schedule/stats.js';
export { defaultDeps, type PoolDeps } from './pool-deps.js';

export class ChildPool<M = UntypedTasks> implements StreamRunner<M> {
  declare readonly [TASKS]?: M;
  /** Runs `task` (a function the tasks module exports) with `args` in a child; rejects with one of errors.ts's errors or the signal's reason. */
  readonly run: RunTask<M> = ((task: string, args: readonly unknown[] = [], options: RunOptions = {}) => {
    const submitted = this.#scheduler.submit(task, args, options, undefined);
    return 'error' in submitted ? Promise.reject(submitted.error) : submitted.job.promise;
  }) as RunTask<M>;
  /** Yields a generator task's values in order (the child at most streamWindow chunks and streamWindowBytes ahead); `break`, signal, timeout, deadline or an idle reader close the generator in the child. */
  readonly stream: StreamTask<M> = ((task: string, args: readonly unknown[] = [], options: RunOptions = {}) => {
    const { streamWindow: window, streamWindowBytes: windowBytes, streamIdleTimeoutMs: idleTimeoutMs } = this.options;
    const limits = { window, windowBytes, idleTimeoutMs, task };
    return openStream(limits, (sink) => this.#scheduler.submit(task, args, options, { sink, window, windowBytes }), (job, n) => this.#scheduler.credit(job, n));
  }) as StreamTask<M>;
  /**
   * Runs `task` over each argument list of `items`, at most `concurrency`
   * (default maxChildren) at a time, and resolves with the results in input
   * order; onProgress hears each answer. The first failure or an abort stops
   * it: no more runs start, the running ones are aborted.
   */
  readonly map: MapTask<M> = ((task: string, items: Iterable<readonly unknown[]>, options: MapOptions = {}) =>
    mapRuns(this.run as unknown as (task: string, args: readonly unknown[], options: RunOptions) => Promise<unknown>, task, items, options, this.options.maxChildren)) as MapTask<M>;
  readonly options: Readonly<ResolvedPoolOptions>;
  readonly #scheduler: Scheduler;

  constructor(options: ChildPoolOptions, deps: Partial<PoolDeps> = {}) {
    this.options = Object.freeze(resolvePoolOptions(options));
    this.#scheduler = new Scheduler(this.options, deps);
  }

  /**
   * Resolves once the children the pool keeps started (minChildren, or spares
   * if more) are ready; rejects with TaskLoadError if the tasks module cannot
   * be loaded, UnknownTaskError if a name given to expectTask() is not one of
   * its tasks, or PoolClosedError once the pool is closed.
   */
  ready(): Promise<void> {
    return this.#scheduler.ready();
  }

  /** Names a task some route will run (offload() calls it), so that ready() rejects if the module does not export it. */
  expectTask(name: string): void {
    this.#scheduler.expectTask(name);
  }

  stats(): PoolStats {
    return this.#scheduler.stats();
  }

  /** Each child: pid, state, tasks answered, age and resident memory (read now). */
  children(): ChildInfo[] {
    return this.#scheduler.children();
  }

  /** How long tasks waited for a ready child, and how long they ran once there (answer, failure or kill). */
  latency(): PoolLatency {
    return this.#scheduler.latency();
  }

  /** Takes no more tasks, lets running and queued ones finish, then ends every child. */
  close(): Promise<void> {
    return this.#scheduler.close();
  }

  /** Ends every child now; pending runs reject with PoolClosedError. */
  destroy(): Promise<void> {
    return this.#scheduler.destroy();
  }
}
