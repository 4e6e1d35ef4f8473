// The autoscaling signal of a queue: how many jobs wait (plain and
// prioritized) and run, and how long the oldest one not yet taken has
// waited. Counted here rather than left to KEDA's Redis list scaler, which
// reads the wait list's length only and so misses prioritized jobs (a sorted
// set) and the ones running.
import type { ConnectionOptions, Queue } from 'bullmq';
import type { RedisOptions } from 'ioredis';
import { setTimeout as delay } from 'node:timers/promises';
import { QUEUE_DEFAULTS } from '../defaults.js';
import { bullmq, ioredis } from './peer.js';

export interface QueueDepth {
  /** Jobs no host has taken yet, in the plain wait list. */
  waiting: number;
  /** Jobs no host has taken yet, added with a priority. */
  prioritized: number;
  /** Jobs a host runs now. */
  active: number;
  /** waiting + prioritized + active: the jobs the hosts have, or should have, in hand. The number to scale worker hosts on. */
  backlog: number;
  /** How long the oldest job no host has taken yet has waited, in seconds; 0 when none waits. */
  oldestWaitingSeconds: number;
}

/** What readQueueDepth needs of a BullMQ Queue. */
export type DepthSource = Pick<Queue, 'getJobCounts' | 'getJobs'>;

/** One reading, from a BullMQ Queue of yours (the same name and prefix as the hosts'). */
export async function readQueueDepth(queue: DepthSource, now: () => number = Date.now): Promise<QueueDepth> {
  // getJobs(..., asc) from the end the hosts take from: the next job in each.
  const [counts, nextPlain, nextPrioritized] = await Promise.all([
    queue.getJobCounts('wait', 'prioritized', 'active'),
    queue.getJobs(['wait'], 0, 0, true),
    queue.getJobs(['prioritized'], 0, 0, true),
  ]);
  const waiting = counts['wait'] ?? 0;
  const prioritized = counts['prioritized'] ?? 0;
  const active = counts['active'] ?? 0;
  const added = [...nextPlain, ...nextPrioritized].map((job) => job?.timestamp).filter((t): t is number => typeof t === 'number');
  const oldest = added.length === 0 ? undefined : Math.min(...added);
  return {
    waiting,
    prioritized,
    active,
    backlog: waiting + prioritized + active,
    oldestWaitingSeconds: oldest === undefined ? 0 : Math.max(0, (now() - oldest) / 1000),
  };
}

export interface QueueDepthWatchOptions {
  /** Redis, as the runner's and the hosts' connection. */
  connection: RedisOptions;
  queue: string;
  /** The queue's key prefix, as the hosts'. Default QUEUE_DEFAULTS.prefix. */
  prefix?: string | undefined;
  /** Time between readings. Default QUEUE_DEFAULTS.depthEveryMs. */
  everyMs?: number | undefined;
}

export interface QueueDepthWatch {
  /** The last reading, or undefined before the first one and while Redis cannot be read (a gauge then left out, not shown as 0). */
  latest(): QueueDepth | undefined;
  close(): Promise<void>;
}

/**
 * Reads the queue's depth every few seconds, one reading at a time, so that
 * a synchronous /metrics can answer with it. Its timer does not keep the
 * process alive.
 */
export function watchQueueDepth(options: QueueDepthWatchOptions): QueueDepthWatch {
  const { Queue } = bullmq();
  const Redis = ioredis();
  // A reading while Redis is away fails at once; the next one tries again.
  // The connection is ours, so close() can always cut it: BullMQ's own, closed
  // while Redis is away, reconnects on with no one to hear its errors.
  const client = new Redis({ ...options.connection, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  const queue = new Queue(options.queue, { prefix: options.prefix ?? QUEUE_DEFAULTS.prefix, connection: client as unknown as ConnectionOptions });
  queue.on('error', () => {});
  let latest: QueueDepth | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let first = true;
  const read = async (): Promise<void> => {
    try {
      // The first reading waits for the connection (a TLS handshake takes a moment); later ones fail at once while Redis is away.
      if (first) await queue.waitUntilReady();
      first = false;
      latest = await readQueueDepth(queue);
    } catch {
      latest = undefined;
    }
    if (!closed) timer = setTimeout(() => void read(), options.everyMs ?? QUEUE_DEFAULTS.depthEveryMs).unref();
  };
  void read();
  return {
    latest: () => latest,
    close: async () => {
      closed = true;
      clearTimeout(timer);
      // A reader has nothing to finish: a close that waits (a Redis that refuses the password is retried first) is cut short.
      const closing = queue.close().catch(() => {});
      await Promise.race([closing, delay(QUEUE_DEFAULTS.depthCloseMs, undefined, { ref: false })]);
      client.disconnect();
    },
  };
}
