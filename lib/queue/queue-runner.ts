// QueueRunner: a TaskRunner whose run() sends the task to whichever worker
// host takes it first (BullMQ on Redis), so offload() and the framework
// adapters work with it unchanged. The answer comes back on the queue's
// events stream to a callback: nothing polls.
import type { ConnectionOptions, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { QUEUE_DEFAULTS } from '../defaults.js';
import { DeadlineError, PoolClosedError, TaskCrashedError } from '../pool/errors.js';
import { checkRun, type RunOptions } from '../pool/run-options.js';
import type { RunTask, TASKS, TaskRunner, UntypedTasks } from '../pool/task-types.js';
import { cancelChannel } from './channels.js';
import { QueueUnavailableError } from './errors.js';
import { bullmq, ioredis } from './peer.js';
import { decode, encode, errorFromReason, type JobData, type JobResult } from './wire.js';

export interface QueueRunnerOptions {
  /** BullMQ's connection option: ioredis options such as { host, port }. */
  connection: ConnectionOptions;
  /** The queue's name, the same as the worker hosts'. */
  queue: string;
  /** Each run's timeout on the worker host, unless the run says. Default: the worker's pool's. */
  timeoutMs?: number;
  /** Each run's deadline from run() to answer, waiting included, unless the run says. Default: none (set one: with no worker host alive, a run waits until it). */
  deadlineMs?: number;
  /** Tasks that may run again on another host if the first died mid-job. Default: none. */
  idempotent?: readonly string[];
}

interface Pending {
  task: string;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class QueueRunner<M = UntypedTasks> implements TaskRunner<M> {
  declare readonly [TASKS]?: M;
  readonly #options: QueueRunnerOptions;
  readonly #queue: Queue<JobData, JobResult>;
  readonly #events: QueueEvents;
  /** Publishes the jobs whose client left. */
  readonly #publisher: Redis;
  readonly #pending = new Map<string, Pending>();
  readonly #listening: Promise<unknown>;
  /** Connected and listening (the first time); after that, a lost connection fails runs at once. */
  #connected = false;
  #closed = false;

  constructor(options: QueueRunnerOptions) {
    const { Queue, QueueEvents } = bullmq();
    this.#options = options;
    // Fail fast while Redis is away (a 503 now, not a request held until it returns); ioredis reconnects by itself.
    this.#queue = new Queue<JobData, JobResult>(options.queue, {
      connection: { ...(options.connection as object), enableOfflineQueue: false },
      streams: { events: { maxLen: QUEUE_DEFAULTS.eventsMaxLen } },
    });
    this.#queue.on('error', () => {});
    this.#events = new QueueEvents(options.queue, { connection: options.connection });
    this.#events.on('error', () => {});
    this.#events.on('completed', ({ jobId, returnvalue }) => this.#settle(jobId, (p) => p.resolve(decode((returnvalue as unknown as JobResult).value))));
    this.#events.on('failed', ({ jobId, failedReason }) => this.#settle(jobId, (p) => p.reject(errorFromReason(failedReason) ?? new TaskCrashedError(p.task, undefined, null, null))));
    this.#publisher = new (ioredis())({ ...(options.connection as object), enableOfflineQueue: false });
    this.#publisher.on('error', () => {});
    this.#publisher.on('ready', () => (this.#connected = true));
    // Redis went away: the runs waiting may never hear back (a restarted Redis
    // has lost their jobs), so they fail now as the next ones will, with 503.
    this.#publisher.on('close', () => {
      this.#connected = false;
      for (const [jobId, pending] of this.#pending) this.#settle(jobId, (p) => p.reject(new QueueUnavailableError(pending.task)));
    });
    this.#listening = Promise.all([this.#events.waitUntilReady(), this.#queue.waitUntilReady(), this.#publisher.status === 'ready' ? undefined : once(this.#publisher, 'ready')]);
    this.#listening.catch(() => {});
  }

  /** Resolves once connected to Redis and listening for answers. */
  async ready(): Promise<void> {
    await this.#listening;
  }

  readonly run: RunTask<M> = ((task: string, args: readonly unknown[] = [], options: RunOptions = {}) => this.#run(task, args, options)) as RunTask<M>;

  async #run(task: string, args: readonly unknown[], options: RunOptions): Promise<unknown> {
    const checked = checkRun(task, args, options, { timeoutMs: this.#options.timeoutMs ?? Infinity, deadlineMs: this.#options.deadlineMs ?? Infinity });
    if (this.#closed) throw new PoolClosedError('queue runner is closed and takes no more tasks');
    const { signal, timeoutMs, deadlineMs } = checked;
    signal?.throwIfAborted();
    // A new runner gets a moment to connect; after that, no connection is a 503 at once, never a wait.
    if (!this.#connected) await Promise.race([this.#listening.catch(() => undefined), delay(QUEUE_DEFAULTS.connectWaitMs, undefined, { ref: false })]);
    if (!this.#connected) throw new QueueUnavailableError(task);
    const jobId = randomUUID();
    const deadlineAt = deadlineMs === Infinity ? undefined : Date.now() + deadlineMs;
    const answer = new Promise<unknown>((resolve, reject) => this.#pending.set(jobId, { task, resolve, reject }));
    const data: JobData = { args: encode(args), timeoutMs: timeoutMs === Infinity ? undefined : timeoutMs, deadlineAt, idempotent: this.#options.idempotent?.includes(task), label: options.label?.slice(0, 200) };
    try {
      await this.#queue.add(task, data, { jobId, removeOnComplete: true, removeOnFail: true });
    } catch (error) {
      this.#pending.delete(jobId);
      throw new QueueUnavailableError(task, { cause: error });
    }
    const gone = (): void => {
      // Removed if nobody has taken it; the host holding it kills its child.
      this.#settle(jobId, (p) => p.reject(signal!.reason));
      void this.#withdraw(jobId);
    };
    signal?.addEventListener('abort', gone, { once: true });
    let deadline: NodeJS.Timeout | undefined;
    if (deadlineAt !== undefined) {
      deadline = setTimeout(() => {
        this.#settle(jobId, (p) => p.reject(new DeadlineError(task, deadlineMs)));
        void this.#withdraw(jobId);
      }, deadlineMs);
    }
    try {
      return await answer;
    } finally {
      signal?.removeEventListener('abort', gone);
      clearTimeout(deadline);
    }
  }

  #settle(jobId: string, how: (pending: Pending) => void): void {
    const pending = this.#pending.get(jobId);
    if (pending === undefined) return; // another requester's job, or settled already
    this.#pending.delete(jobId);
    how(pending);
  }

  /** A job whose requester gave up: removed while waiting, cancelled on the host that holds it. */
  async #withdraw(jobId: string): Promise<void> {
    try {
      await this.#queue.remove(jobId);
    } catch {
      // Held by a worker host (locked): it is told below.
    }
    try {
      await this.#publisher.publish(cancelChannel(this.#options.queue), jobId);
    } catch {
      // Redis is away: the job's own timeout still ends it on the host.
    }
  }

  /** Stops listening; runs still waiting reject with PoolClosedError. Closes nothing on the worker hosts. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const [jobId] of this.#pending) this.#settle(jobId, (p) => p.reject(new PoolClosedError('queue runner was closed before the answer came')));
    await Promise.allSettled([this.#events.close(), this.#queue.close()]);
    this.#publisher.disconnect();
  }
}
