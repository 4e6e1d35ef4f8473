// What the demo's routes need of whatever runs its tasks: a ChildPool, or
// the queue lane (--queue-redis) that sends them to worker hosts.
import type { ChildInfo, PoolLatency, PoolStats } from '../pool/child-pool.js';
import type { TaskRunner } from '../pool/task-types.js';
import type { QueueDepth } from '../queue/queue-depth.js';

export type DemoTasks = typeof import('./tasks.js');

/** The queue's depth as /stats and /metrics show it: which queue, and its last reading. */
export type NamedQueueDepth = QueueDepth & { queue: string };

/** What the demo needs of a pool: to run its tasks and to report its counters. */
export interface DemoPool extends TaskRunner<DemoTasks> {
  stats(): PoolStats;
  latency(): PoolLatency;
  children(): ChildInfo[];
  /** On the queue (--queue-redis): the queue's last depth reading, for /stats and /metrics. */
  queueDepth?(): NamedQueueDepth | undefined;
}
