// The demo's slow routes on slowlane/queue (--queue-redis): a QueueRunner
// seen as the demo's pools are, with the counters /stats shows kept here from
// each run's outcome. The children are on the worker hosts, so none is listed.
import type { RunOptions } from '../pool/run-options.js';
import { DeadlineError, PoolClosedError, QueueFullError, TaskCrashedError, TaskMemoryError, TaskTimeoutError } from '../pool/errors.js';
import type { Outcome } from '../trace/outcome.js';
import { PoolCounters, type ChildInfo, type PoolLatency, type PoolStats } from '../pool/schedule/stats.js';
import type { RunTask, TASKS } from '../pool/task-types.js';
import type { QueueDepthWatch } from '../queue/queue-depth.js';
import type { DemoPool, DemoTasks, NamedQueueDepth } from './demo-pool.js';

/** What the lane needs of a QueueRunner. */
export interface RemoteRunner {
  run: (task: string, args: readonly unknown[], options: RunOptions) => Promise<unknown>;
  ready(): Promise<void>;
  close(): Promise<void>;
}

function outcomeOf(error: unknown, signal: AbortSignal | undefined): Exclude<Outcome, 'completed'> {
  if (signal?.aborted === true) return 'aborted';
  if (error instanceof TaskTimeoutError) return 'timedOut';
  if (error instanceof DeadlineError) return 'expired';
  if (error instanceof QueueFullError) return 'rejected';
  if (error instanceof TaskCrashedError || error instanceof TaskMemoryError) return 'crashed';
  if (error instanceof PoolClosedError) return 'closed';
  return 'failed';
}

export class QueueLane implements DemoPool {
  declare readonly [TASKS]?: DemoTasks;
  readonly #remote: RemoteRunner;
  readonly #depth: { queue: string; watch: Pick<QueueDepthWatch, 'latest' | 'close'> } | undefined;
  readonly #counters = new PoolCounters();
  #running = 0;

  /** `depth`: the queue's name and a watch of its depth (watchQueueDepth), for /stats and /metrics; closed with the lane. */
  constructor(remote: RemoteRunner, depth?: { queue: string; watch: Pick<QueueDepthWatch, 'latest' | 'close'> }) {
    this.#remote = remote;
    this.#depth = depth;
  }

  /** The queue's last depth reading (every host's jobs, not only this server's), or undefined while there is none. */
  queueDepth(): NamedQueueDepth | undefined {
    const latest = this.#depth?.watch.latest();
    return latest === undefined ? undefined : { queue: this.#depth!.queue, ...latest };
  }

  readonly run: RunTask<DemoTasks> = (async (task: string, args: readonly unknown[] = [], options: RunOptions = {}) => {
    const started = performance.now();
    this.#running += 1;
    try {
      const value = await this.#remote.run(task, args, options);
      this.#counters.ended('completed');
      return value;
    } catch (error) {
      this.#counters.ended(outcomeOf(error, options.signal));
      throw error;
    } finally {
      this.#running -= 1;
      // Waiting and running are one span seen from here: it counts as run time.
      this.#counters.ran(performance.now() - started);
    }
  }) as unknown as RunTask<DemoTasks>;

  stats(): PoolStats {
    return { running: this.#running, queued: 0, ...this.#counters.runs, children: 0, idle: 0, spares: 0, ...this.#counters.children, startsDeferred: 0, spawnersStarted: 0 };
  }

  latency(): PoolLatency {
    return this.#counters.latency();
  }

  children(): ChildInfo[] {
    return [];
  }

  ready(): Promise<void> {
    return this.#remote.ready();
  }

  async close(): Promise<void> {
    await Promise.all([this.#remote.close(), this.#depth?.watch.close()]);
  }

  async destroy(): Promise<void> {
    await Promise.all([this.#remote.close(), this.#depth?.watch.close()]);
  }
}
