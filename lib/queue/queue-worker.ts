// startQueueWorker(): a BullMQ worker on a worker host that runs each job in
// the host's ChildPool, so timeouts, the memory cap, recycling and niceness
// hold there. It takes at most as many jobs as the pool has children, and
// its own event loop stays free (the work runs in children), so BullMQ's
// lock renewal never stalls. A requester that leaves reaches it through a
// Redis channel: the job's signal aborts and the child is killed.
import type { ConnectionOptions, Job } from 'bullmq';
import type { RedisOptions } from 'ioredis';
import { QUEUE_DEFAULTS } from '../defaults.js';
import { DeadlineError, TaskCrashedError } from '../pool/errors.js';
import type { RunOptions } from '../pool/run-options.js';
import { cancelChannel, cancelledKey } from './channels.js';
import { bullmq, ioredis } from './peer.js';
import { decode, encode, errorToReason, type JobData, type JobResult } from './wire.js';

/** The pool a worker host runs jobs in: a ChildPool (its maxChildren says how many jobs it takes at once). */
export interface WorkerPool {
  run: (...args: never) => Promise<unknown>;
  readonly options?: { readonly maxChildren: number };
}

export interface QueueWorkerOptions {
  /** Redis, as ioredis options such as { host, port } (BullMQ's connection option). */
  connection: RedisOptions;
  /** The queue's name, the same as the requesters'. */
  queue: string;
  pool: WorkerPool;
  /** Jobs run at once. Default: the pool's maxChildren. */
  concurrency?: number;
  /** Default 5 s (lib/defaults.ts QUEUE_DEFAULTS). */
  lockDurationMs?: number;
  /** Default 2 s. */
  stalledIntervalMs?: number;
  /** Told of each job as it ends: for a log line. */
  onJob?: (job: JobReport) => void;
}

export interface JobReport {
  task: string;
  /** The run's label: the request that asked for it, when it came through offload(). */
  label: string | undefined;
  ms: number;
  /** The failure, or undefined if it answered. */
  error: unknown;
}

export interface QueueWorker {
  /** Resolves once connected and taking jobs. */
  ready(): Promise<void>;
  /** Takes no more jobs and lets the ones it holds finish; does not close the pool (it is yours). */
  close(): Promise<void>;
}

type LooseRun = (task: string, args: readonly unknown[], options: RunOptions) => Promise<unknown>;

export function startQueueWorker(options: QueueWorkerOptions): QueueWorker {
  const { Worker, UnrecoverableError } = bullmq();
  const Redis = ioredis();
  const { connection, queue, pool } = options;
  const run = pool.run as unknown as LooseRun;
  const fail = (error: unknown): Error => new UnrecoverableError(errorToReason(error));

  const processor = async (job: Job<JobData, JobResult>, _token?: string, signal?: AbortSignal): Promise<JobResult> => {
    const { args, timeoutMs, deadlineAt, idempotent } = job.data;
    const now = Date.now();
    if (deadlineAt !== undefined && now >= deadlineAt) throw fail(new DeadlineError(job.name, deadlineAt - job.timestamp));
    // A second start means the host that had it died mid-job: a task not
    // marked idempotent must not run twice.
    if ((job.attemptsStarted ?? 1) > 1 && idempotent !== true) throw fail(new TaskCrashedError(job.name, undefined, null, 'SIGKILL'));
    // Its requester left before this host took it (the cancel message went by before the job was ours).
    if ((await commands.exists(cancelledKey(queue, job.id!)).catch(() => 0)) === 1) throw fail(signal?.reason ?? new Error('the requester left'));
    const started = performance.now();
    const report = (error: unknown): void => options.onJob?.({ task: job.name, label: job.data.label, ms: performance.now() - started, error });
    try {
      // The requester's deadline holds here too: a job is never run past it, even if the cancel message is lost.
      const deadlineMs = deadlineAt === undefined ? undefined : Math.max(1, deadlineAt - Date.now());
      const value = await run.call(pool, job.name, decode(args) as readonly unknown[], { signal, timeoutMs, deadlineMs, label: job.data.label });
      report(undefined);
      return { value: encode(value) };
    } catch (error) {
      report(error);
      throw fail(error);
    }
  };

  // Plain commands (the cancel marks); the subscriber below can run none.
  const commands = new Redis({ ...connection, maxRetriesPerRequest: 1 });
  commands.on('error', () => {});

  const worker = new Worker<JobData, JobResult>(queue, processor, {
    connection: connection as ConnectionOptions,
    concurrency: options.concurrency ?? pool.options?.maxChildren ?? 1,
    lockDuration: options.lockDurationMs ?? QUEUE_DEFAULTS.lockDurationMs,
    stalledInterval: options.stalledIntervalMs ?? QUEUE_DEFAULTS.stalledIntervalMs,
    // One restart after a host died: the processor above fails it unless idempotent.
    maxStalledCount: 1,
    removeOnComplete: { count: 0 },
    removeOnFail: { count: 0 },
  });
  // Connection errors are retried by ioredis; BullMQ asks for a listener so they do not throw.
  worker.on('error', () => {});
  // Its lock could not be renewed: another host may take the job, so this one stops running it.
  worker.on('lockRenewalFailed', (jobIds) => {
    for (const jobId of jobIds) worker.cancelJob(jobId, 'its lock could not be renewed');
  });

  // The requester left: the job's signal aborts, and the pool kills its child.
  const subscriber = new Redis({ ...connection, maxRetriesPerRequest: null });
  subscriber.on('error', () => {});
  const subscribed = subscriber.subscribe(cancelChannel(queue));
  subscribed.catch(() => {}); // reported by ready(); ioredis subscribes again on reconnect
  subscriber.on('message', (_channel: string, jobId: string) => {
    worker.cancelJob(jobId, 'the requester left');
  });

  return {
    ready: async () => {
      await Promise.all([worker.waitUntilReady(), subscribed]);
    },
    close: async () => {
      await worker.close();
      subscriber.disconnect();
      commands.disconnect();
    },
  };
}
