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
import { isLoadError, LoadGuard } from './load-guard.js';
import { bullmq, ioredis } from './peer.js';
import { decode, encode, errorToReason, type JobData, type JobResult } from './wire.js';

/** The pool a worker host runs jobs in: a ChildPool (its maxChildren says how many jobs it takes at once). */
export interface WorkerPool {
  run: (...args: never) => Promise<unknown>;
  readonly options?: { readonly maxChildren: number };
  /** Resolves once its tasks module loads (ChildPool's ready()): a host that stopped taking jobs because it did not asks again with it. */
  ready?: () => Promise<void>;
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
  /**
   * Told when the host stops taking jobs because its tasks module does not
   * load (with that error), and when it takes them again: for a log line.
   */
  onTakingJobs?: (taking: boolean, error?: Error) => void;
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
  const { Worker, UnrecoverableError, WaitingError } = bullmq();
  const Redis = ioredis();
  const { connection, queue, pool } = options;
  const run = pool.run as unknown as LooseRun;
  const fail = (error: unknown): Error => new UnrecoverableError(errorToReason(error));

  /**
   * Puts a job this host cannot run back at the head of the queue for
   * another host; counted in its data, so that the start it cost is not
   * taken for a host that died mid-job. If Redis cannot be told, the job's
   * lock runs out and another host's stalled check puts it back instead.
   */
  const giveBack = async (job: Job<JobData, JobResult>, token: string | undefined): Promise<never> => {
    try {
      await job.updateData({ ...job.data, givenBack: (job.data.givenBack ?? 0) + 1 });
      await job.moveToWait(token);
    } catch {
      // See above: the stalled check recovers it.
    }
    throw new WaitingError();
  };

  const processor = async (job: Job<JobData, JobResult>, token?: string, signal?: AbortSignal): Promise<JobResult> => {
    const { args, timeoutMs, deadlineAt, idempotent } = job.data;
    const now = Date.now();
    if (deadlineAt !== undefined && now >= deadlineAt) throw fail(new DeadlineError(job.name, deadlineAt - job.timestamp));
    // A second start means the host that had it died mid-job: a task not
    // marked idempotent must not run twice. Starts given back never ran it.
    if ((job.attemptsStarted ?? 1) - (job.data.givenBack ?? 0) > 1 && idempotent !== true) throw fail(new TaskCrashedError(job.name, undefined, null, 'SIGKILL'));
    // Its requester left before this host took it (the cancel message went by before the job was ours).
    if ((await commands.exists(cancelledKey(queue, job.id!)).catch(() => 0)) === 1) throw fail(signal?.reason ?? new Error('the requester left'));
    // Taken just as this host stopped taking jobs (a fetch already under way): not ours to run.
    if (guard.stopped) return giveBack(job, token);
    const started = performance.now();
    const report = (error: unknown): void => options.onJob?.({ task: job.name, label: job.data.label, ms: performance.now() - started, error });
    try {
      // The requester's deadline holds here too: a job is never run past it, even if the cancel message is lost.
      const deadlineMs = deadlineAt === undefined ? undefined : Math.max(1, deadlineAt - Date.now());
      const value = await run.call(pool, job.name, decode(args) as readonly unknown[], { signal, timeoutMs, deadlineMs, label: job.data.label, trace: job.data.trace });
      report(undefined);
      return { value: encode(value) };
    } catch (error) {
      // The module does not load here, so the task never started: not the
      // requester's answer. Another host runs it; this one stops taking jobs.
      if (isLoadError(error) && signal?.aborted !== true) {
        await guard.tripped(error);
        return giveBack(job, token);
      }
      report(error);
      throw fail(error);
    }
  };

  // Plain commands (the cancel marks); the subscriber below can run none.
  const commands = new Redis({ ...connection, maxRetriesPerRequest: 1 });
  commands.on('error', () => {});

  // Stops this host taking jobs while its tasks module does not load, and starts it again once it does.
  const guard = new LoadGuard({
    pause: () => worker.pause(true),
    resume: () => worker.resume(),
    probe: () => pool.ready?.() ?? Promise.resolve(),
    onChange: options.onTakingJobs,
  });

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
      guard.close();
      await worker.close();
      subscriber.disconnect();
      commands.disconnect();
    },
  };
}
