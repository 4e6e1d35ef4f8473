// startQueueWorker(): a BullMQ worker on a worker host that runs each job in
// the host's ChildPool, so timeouts, the memory cap, recycling and niceness
// hold there. It takes at most as many jobs as the pool has children, and
// its own event loop stays free (the work runs in children), so BullMQ's
// lock renewal never stalls. A requester that leaves reaches it through a
// Redis channel: the job's signal aborts and the child is killed.
import type { ConnectionOptions, Job } from 'bullmq';
import type { RedisOptions } from 'ioredis';
import { QUEUE_DEFAULTS } from '../defaults.js';
import { DeadlineError } from '../pool/errors.js';
import type { AnyRunner, LooseRun } from '../pool/task-types.js';
import { deliverAnswer, failedAnswer, type Answer } from './answer.js';
import { cancelChannel, cancelledKey, isUuid, keySpace } from './channels.js';
import { JobStoppedError, lostMidRun, type StopReason } from './errors.js';
import { isLoadError, LoadGuard } from './load-guard.js';
import { bounded, whileAway } from './bounded.js';
import { bullmq, ioredis } from './peer.js';
import { decode, errorToReason, type JobData, type JobResult } from './wire.js';

/** The pool a worker host runs jobs in: a ChildPool (its maxChildren says how many jobs it takes at once); the library's AnyRunner, by its old name. */
export type WorkerPool = AnyRunner;

export interface QueueWorkerOptions {
  /** Redis, as ioredis options such as { host, port }, or { sentinels, name } for Sentinel (BullMQ's connection option). */
  connection: RedisOptions;
  /** The queue's name, the same as the requesters'. */
  queue: string;
  /** The start of the queue's Redis keys, the same as the requesters'; a Redis Cluster needs a hash tag such as "{slowlane}". Default "bull" (BullMQ's). */
  prefix?: string;
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
  /** Told when Redis refused a job's answer (its requester then waits out its deadline): for a log line. */
  onAnswerLost?: (task: string, error: unknown) => void;
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

/** The reasons this host aborts a job's signal with; the run then fails with that reason itself. */
const CANCELLED: StopReason = 'cancelled';
const LOCK_LOST: StopReason = 'lockLost';

/** The run failed because this host stopped it (a cancel, a lost lock): a JobStoppedError that says so, not "task threw a non-Error value". */
function stoppedBy(task: string, signal: AbortSignal | undefined, error: unknown): JobStoppedError | undefined {
  if (signal?.aborted !== true || error !== signal.reason) return undefined;
  return error === CANCELLED || error === LOCK_LOST ? new JobStoppedError(task, error as StopReason) : undefined;
}


export function startQueueWorker(options: QueueWorkerOptions): QueueWorker {
  const { Worker, UnrecoverableError, WaitingError } = bullmq();
  const Redis = ioredis();
  const { connection, queue, pool } = options;
  const prefix = options.prefix ?? QUEUE_DEFAULTS.prefix;
  const space = keySpace(prefix, queue);
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

  /** Runs a job; its value, or a throw with the failure (WaitingError: given back, no answer). */
  const work = async (job: Job<JobData, JobResult>, token: string | undefined, signal: AbortSignal | undefined): Promise<unknown> => {
    const { args, timeoutMs, deadlineAt, idempotent } = job.data;
    const now = Date.now();
    if (deadlineAt !== undefined && now >= deadlineAt) throw new DeadlineError(job.name, deadlineAt - job.timestamp);
    // A second start means the host that had it died mid-job: a task not
    // marked idempotent must not run twice (one that is runs at most
    // maxStarts times). Starts given back never ran it.
    const starts = (job.attemptsStarted ?? 1) - (job.data.givenBack ?? 0);
    if (starts > (idempotent === true ? QUEUE_DEFAULTS.maxStarts : 1)) throw lostMidRun(job.name);
    // Its requester left before this host took it (the cancel message went by
    // before the job was ours). Only a requester that did not leave reads the
    // failure: one whose job was marked by something else.
    if ((await commands.exists(cancelledKey(space, job.id!)).catch(() => 0)) === 1) throw new JobStoppedError(job.name, 'cancelled');
    // Taken just as this host stopped taking jobs (a fetch already under way): not ours to run.
    if (guard.stopped) return giveBack(job, token);
    const started = performance.now();
    const report = (error: unknown): void => options.onJob?.({ task: job.name, label: job.data.label, ms: performance.now() - started, error });
    try {
      // The requester's deadline holds here too: a job is never run past it, even if the cancel message is lost.
      const deadlineMs = deadlineAt === undefined ? undefined : Math.max(1, deadlineAt - Date.now());
      const value = await run.call(pool, job.name, decode(args) as readonly unknown[], { signal, timeoutMs, deadlineMs, label: job.data.label, trace: job.data.trace });
      report(undefined);
      return value;
    } catch (error) {
      // The module does not load here, so the task never started: not the
      // requester's answer. Another host runs it; this one stops taking jobs.
      if (isLoadError(error) && signal?.aborted !== true) {
        await guard.tripped(error);
        return giveBack(job, token);
      }
      const failure = stoppedBy(job.name, signal, error) ?? error;
      report(failure);
      throw failure;
    }
  };

  // The answer goes to the requester's own inbox before BullMQ is told the
  // job ended: if the host dies between the two, the job is started again
  // and fails as a second start, and the requester has its answer already.
  const processor = async (job: Job<JobData, JobResult>, token?: string, signal?: AbortSignal): Promise<JobResult> => {
    const { replyTo } = job.data;
    // Only a QueueRunner's job names an inbox and has a UUID for an id: a forged one is failed, never run, and nothing is written for it.
    if (!isUuid(replyTo) || !isUuid(job.id)) throw fail(new TypeError(`job ${JSON.stringify(job.id)} was not sent by a slowlane QueueRunner (no inbox to answer): not run`));
    let answer: Answer;
    try {
      answer = { value: await work(job, token, signal) };
    } catch (error) {
      if (error instanceof WaitingError) throw error;
      // A lost lock: the job is no longer this host's to answer. Whoever holds it next does (a rerun, or "lost mid-run").
      if (error instanceof JobStoppedError && error.reason === LOCK_LOST) throw fail(error);
      answerOn(job, replyTo, failedAnswer(error));
      throw fail(error);
    }
    answerOn(job, replyTo, answer);
    return null;
  };

  /**
   * Sends a job's answer without waiting for Redis's reply: it goes on the
   * connection BullMQ marks the job finished on, so Redis runs it first (one
   * socket, in order), and the host's slot is free a round trip sooner.
   */
  const answerOn = (job: Job<JobData, JobResult>, replyTo: string, answer: Answer): void => {
    deliverAnswer(commands, space, replyTo, job.id!, answer).catch((error: unknown) => options.onAnswerLost?.(job.name, error));
  };

  // BullMQ's own connection, lent to it: the answers are written on it just
  // before BullMQ finishes their jobs, in that order; the cancel marks are read on it too.
  const commands = new Redis({ ...connection, maxRetriesPerRequest: null });
  commands.on('error', () => {});

  // Stops this host taking jobs while its tasks module does not load, and starts it again once it does.
  const guard = new LoadGuard({
    pause: () => worker.pause(true),
    resume: () => worker.resume(),
    probe: () => pool.ready?.() ?? Promise.resolve(),
    onChange: options.onTakingJobs,
  });

  const worker = new Worker<JobData, JobResult>(queue, processor, {
    prefix,
    connection: commands as unknown as ConnectionOptions,
    concurrency: options.concurrency ?? pool.options?.maxChildren ?? 1,
    lockDuration: options.lockDurationMs ?? QUEUE_DEFAULTS.lockDurationMs,
    stalledInterval: options.stalledIntervalMs ?? QUEUE_DEFAULTS.stalledIntervalMs,
    // A job whose host died starts again; the processor above fails it (with
    // an answer) unless idempotent, and after maxStarts: BullMQ never fails
    // one itself, which would leave its requester without an answer.
    maxStalledCount: QUEUE_DEFAULTS.maxStarts,
    // BullMQ waits this long after a Redis error before it fetches again; its timer also holds a closing host's exit.
    runRetryDelay: QUEUE_DEFAULTS.retryDelayMs,
    removeOnComplete: { count: 0 },
    removeOnFail: { count: 0 },
  });
  // Connection errors are retried by ioredis; BullMQ asks for a listener so they do not throw.
  worker.on('error', () => {});

  // Its lock could not be renewed: another host may take the job, so this one stops running it.
  worker.on('lockRenewalFailed', (jobIds) => {
    for (const jobId of jobIds) worker.cancelJob(jobId, LOCK_LOST);
  });

  // The requester left: the job's signal aborts, and the pool kills its child.
  const subscriber = new Redis({ ...connection, maxRetriesPerRequest: null });
  subscriber.on('error', () => {});
  const subscribed = subscriber.subscribe(cancelChannel(space));
  subscribed.catch(() => {}); // reported by ready(); ioredis subscribes again on reconnect
  subscriber.on('message', (_channel: string, jobId: string) => {
    worker.cancelJob(jobId, CANCELLED);
  });

  return {
    ready: async () => {
      await Promise.all([worker.waitUntilReady(), subscribed]);
    },
    close: async () => {
      guard.close();
      // The jobs held finish and are answered; but with Redis away nothing can
      // be answered or marked done (their requesters have failed them already,
      // and their locks run out), so the host leaves without waiting on Redis:
      // at once if it is away now, after closeTimeoutMs if it goes while draining.
      if (commands.status !== 'ready') {
        await bounded(worker.close(true), QUEUE_DEFAULTS.closeTimeoutMs);
      } else {
        await Promise.race([worker.close(), whileAway(commands, QUEUE_DEFAULTS.closeTimeoutMs)]);
        // BullMQ's disconnect waits for an 'end' that a client cut while reconnecting never emits: the cut is what counts.
        if (commands.status !== 'ready') await bounded(worker.disconnect(), QUEUE_DEFAULTS.closeTimeoutMs);
      }
      subscriber.disconnect();
      commands.disconnect();
    },
  };
}
