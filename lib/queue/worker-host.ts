// A worker host: one ChildPool and the queue worker feeding it, as
// `slowlane worker` runs them. Closing drains: no new jobs, the held ones
// finish, then the children leave.
import { ChildPool } from '../pool/child-pool.js';
import type { ChildPoolOptions } from '../pool/pool-options.js';
import { QUEUE_DEFAULTS } from '../defaults.js';
import type { RedisConnection } from './redis-url.js';
import { startQueueWorker, type QueueWorker } from './queue-worker.js';

export interface WorkerHostConfig {
  connection: RedisConnection;
  queue: string;
  pool: ChildPoolOptions;
}

export interface WorkerHost {
  pool: ChildPool;
  worker: QueueWorker;
  close(): Promise<void>;
}

export async function startWorkerHost(config: WorkerHostConfig): Promise<WorkerHost> {
  const pool = new ChildPool({ maxResultBytes: QUEUE_DEFAULTS.maxResultBytes, ...config.pool });
  const worker = startQueueWorker({ connection: { ...config.connection, maxRetriesPerRequest: null }, queue: config.queue, pool });
  try {
    await Promise.all([pool.ready(), worker.ready()]);
  } catch (error) {
    await Promise.allSettled([worker.close(), pool.destroy()]);
    throw error;
  }
  return {
    pool,
    worker,
    close: async () => {
      await worker.close();
      await pool.close();
    },
  };
}
