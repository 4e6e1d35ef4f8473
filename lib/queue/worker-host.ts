// A worker host: one ChildPool and the queue worker feeding it, as
// `slowlane worker` runs them. Closing drains: no new jobs, the held ones
// finish, then the children leave.
import { ChildPool } from '../pool/child-pool.js';
import type { ChildPoolOptions } from '../pool/pool-options.js';
import { QUEUE_DEFAULTS } from '../defaults.js';
import { nameForLog, quotedForLog } from './log-text.js';
import { checkRedis } from './redis-check.js';
import type { RedisConnection } from './redis-url.js';
import { startQueueWorker, type JobReport, type QueueWorker } from './queue-worker.js';

export interface WorkerHostConfig {
  connection: RedisConnection;
  queue: string;
  /** The start of the queue's Redis keys (QueueWorkerOptions.prefix). */
  prefix?: string | undefined;
  pool: ChildPoolOptions;
  /** One line per job (`ok heavyLifting 412.31ms "GET /slow_pool?id=1"`); omit for none. */
  log?: ((line: string) => void) | undefined;  /** A line when the host stops or starts again taking jobs (its tasks module stopped or started loading); written even with no job log. */
  notice?: ((line: string) => void) | undefined;
}

/** A job's log line: its outcome (ok, or the error's name), task, time and label; the task and label come from Redis, so they are escaped. */
export function jobLine(job: JobReport): string {
  const outcome = job.error === undefined ? 'ok' : nameForLog(String((job.error as { name?: unknown } | null)?.name ?? 'Error'));
  return `${outcome} ${nameForLog(job.task)} ${job.ms.toFixed(2)}ms${job.label === undefined ? '' : ` ${quotedForLog(job.label)}`}`;
}

/** The line a host writes when it stops taking jobs (its tasks module does not load) or takes them again. */
export function takingLine(taking: boolean, error?: Error, pid = process.pid): string {
  return taking ? `worker ${pid} takes jobs again: its tasks module loads` : `worker ${pid} stopped taking jobs: its tasks module does not load (${firstLine(error?.message ?? 'unknown error')}); trying again every few seconds`;
}

const firstLine = (text: string): string => text.split('\n', 1)[0]!;

export interface WorkerHost {
  pool: ChildPool;
  worker: QueueWorker;
  close(): Promise<void>;
}

export async function startWorkerHost(config: WorkerHostConfig): Promise<WorkerHost> {
  // A wrong password or an untrusted certificate ends the start here, before any child is started.
  await checkRedis(config.connection);
  const pool = new ChildPool({ maxResultBytes: QUEUE_DEFAULTS.maxResultBytes, ...config.pool });
  const { log } = config;
  const worker = startQueueWorker({
    connection: { ...config.connection, maxRetriesPerRequest: null }, queue: config.queue, pool,
    ...(config.prefix === undefined ? {} : { prefix: config.prefix }),
    onJob: log === undefined ? undefined : (job) => log(jobLine(job)),
    onTakingJobs: (taking, error) => config.notice?.(takingLine(taking, error)),
    onAnswerLost: (task, error) => config.notice?.(`worker ${process.pid} could not answer a ${nameForLog(task)} job: Redis refused it (${nameForLog(firstLine((error as Error)?.message ?? String(error)))})`),
  });
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
