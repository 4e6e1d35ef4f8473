// QueueRunner: a TaskRunner whose run() sends the task to whichever worker
// host takes it first (BullMQ on Redis), so offload() and the framework
// adapters work with it unchanged. The answer comes back on the queue's
// events stream to a callback: nothing polls.
import type { ConnectionOptions, Queue, QueueEvents } from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { QUEUE_DEFAULTS } from '../defaults.js';
import { DeadlineError, PoolClosedError, TaskCrashedError, TaskTimeoutError } from '../pool/errors.js';
import { checkRun, type RunOptions } from '../pool/run-options.js';
import type { RunTask, TASKS, TaskRunner, UntypedTasks } from '../pool/task-types.js';
import { activeTraceCarrier } from '../trace/span-context.js';
import { cancelChannel, cancelledKey } from './channels.js';
import { QueueUnavailableError } from './errors.js';
import { bullmq, ioredis } from './peer.js';
import { redisProblem } from './redis-check.js';
import { decode, encode, errorFromReason, type JobData, type JobResult } from './wire.js';

export interface QueueRunnerOptions {
  /** Redis, as ioredis options such as { host, port } (BullMQ's connection option). */
  connection: RedisOptions;
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
  /** A host has begun it ('active'): a deadline then is a timeout (504), not a wait that ran out (503). */
  started: boolean;
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
  /** Why Redis will not let us in (a wrong password, an untrusted certificate), while that lasts: said instead of "unreachable". */
  #problem: string | undefined;
  #closed = false;

  constructor(options: QueueRunnerOptions) {
    const { Queue, QueueEvents } = bullmq();
    const Redis = ioredis();
    this.#options = options;
    // Fail fast while Redis is away (a 503 now, not a request held until it
    // returns): no offline queue, one retry of a command cut off; ioredis reconnects by itself.
    this.#queue = new Queue<JobData, JobResult>(options.queue, {
      connection: { ...options.connection, enableOfflineQueue: false, maxRetriesPerRequest: 1 } as ConnectionOptions,
      streams: { events: { maxLen: QUEUE_DEFAULTS.eventsMaxLen } },
    });
    this.#queue.on('error', () => {});
    // From a second before now (clock skew between here and Redis): an answer
    // that comes while the first read is on its way is not missed.
    this.#events = new QueueEvents(options.queue, { connection: options.connection as ConnectionOptions, lastEventId: `${Date.now() - 1000}-0` });
    this.#events.on('error', () => {});
    // BullMQ stops reading events for good if a listener throws: each one
    // turns a value it cannot read into that run's failure instead.
    this.#events.on('active', ({ jobId }) => {
      const pending = this.#pending.get(jobId);
      if (pending !== undefined) pending.started = true;
    });
    // Given back unrun by a host whose tasks module does not load: waiting again, not running.
    this.#events.on('waiting', ({ jobId, prev }) => {
      const pending = this.#pending.get(jobId);
      if (pending !== undefined && prev === 'active') pending.started = false;
    });
    this.#events.on('completed', ({ jobId, returnvalue }) => this.#settle(jobId, (p) => {
      try {
        p.resolve(decode((returnvalue as unknown as JobResult).value));
      } catch (error) {
        p.reject(unreadable(p.task, error));
      }
    }));
    this.#events.on('failed', ({ jobId, failedReason }) => this.#settle(jobId, (p) => p.reject(errorFromReason(failedReason) ?? new TaskCrashedError(p.task, undefined, null, null))));
    this.#publisher = new Redis({ ...options.connection, enableOfflineQueue: false });
    this.#publisher.on('error', (error: unknown) => (this.#problem = redisProblem(error) ?? this.#problem));
    const connected = new Promise<void>((resolve) => this.#publisher.once('ready', () => resolve()));
    this.#publisher.on('ready', () => {
      this.#connected = true;
      this.#problem = undefined;
    });
    // Redis went away: the runs waiting may never hear back (a restarted Redis
    // has lost their jobs), so they fail now as the next ones will, with 503.
    this.#publisher.on('close', () => {
      this.#connected = false;
      for (const [jobId, pending] of this.#pending) this.#settle(jobId, (p) => p.reject(new QueueUnavailableError(pending.task, { problem: this.#problem })));
    });
    this.#listening = Promise.all([this.#events.waitUntilReady(), this.#queue.waitUntilReady(), connected]);
    this.#listening.catch(() => {});
  }

  /** Resolves once connected to Redis and listening for answers (it waits while Redis is away). */
  async ready(): Promise<void> {
    await this.#listening;
  }

  readonly run: RunTask<M> = ((task: string, args: readonly unknown[] = [], options: RunOptions = {}) => this.#run(task, args, options)) as RunTask<M>;

  async #run(task: string, args: readonly unknown[], options: RunOptions): Promise<unknown> {
    const checked = checkRun(task, args, options, { timeoutMs: this.#options.timeoutMs ?? Infinity, deadlineMs: this.#options.deadlineMs ?? Infinity });
    if (this.#closed) throw new PoolClosedError('queue runner is closed and takes no more tasks');
    const { signal, timeoutMs, deadlineMs } = checked;
    signal?.throwIfAborted();
    const deadlineAt = deadlineMs === Infinity ? undefined : Date.now() + deadlineMs;
    const jobId = randomUUID();
    // Registered before any wait: the client leaving, or the deadline, while
    // connecting or adding still ends the run, and the job is withdrawn.
    const answer = new Promise<unknown>((resolve, reject) => this.#pending.set(jobId, { task, started: false, resolve, reject }));
    answer.catch(() => {}); // settled (by close() or a lost connection) before it is awaited below: not unhandled
    let added = false;
    const giveUp = (error: unknown): void => {
      this.#settle(jobId, (p) => p.reject(error));
      if (added) void this.#withdraw(jobId);
    };
    const gone = (): void => giveUp(signal!.reason);
    signal?.addEventListener('abort', gone, { once: true });
    const deadline = deadlineAt === undefined ? undefined : setTimeout(() => {
      const started = this.#pending.get(jobId)?.started === true;
      giveUp(started ? new TaskTimeoutError(task, deadlineMs, 'deadline') : new DeadlineError(task, deadlineMs));
    }, deadlineMs);
    try {
      // A new runner gets a moment to connect; after that, no connection is a 503 at once, never a wait.
      if (!this.#connected) await Promise.race([this.#listening.catch(() => undefined), delay(QUEUE_DEFAULTS.connectWaitMs, undefined, { ref: false })]);
      if (!this.#pending.has(jobId)) return await answer; // aborted, or past its deadline, already
      if (!this.#connected) throw new QueueUnavailableError(task, { problem: this.#problem });
      const data: JobData = { args: encode(args), timeoutMs: timeoutMs === Infinity ? undefined : timeoutMs, deadlineAt, idempotent: this.#options.idempotent?.includes(task), label: options.label?.slice(0, 200), trace: checked.trace ?? activeTraceCarrier() };
      try {
        await this.#queue.add(task, data, { jobId, removeOnComplete: true, removeOnFail: true });
      } catch (error) {
        throw new QueueUnavailableError(task, { cause: error });
      }
      added = true;
      // Given up while it was being added: take it back now.
      if (!this.#pending.has(jobId)) void this.#withdraw(jobId);
      return await answer;
    } catch (error) {
      this.#pending.delete(jobId);
      throw error;
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
      // The mark first, then the message: a host that takes the job later sees the mark; one that holds it hears the message.
      await this.#publisher.set(cancelledKey(this.#options.queue, jobId), '1', 'PX', QUEUE_DEFAULTS.cancelMarkMs);
      await this.#publisher.publish(cancelChannel(this.#options.queue), jobId);
    } catch {
      // Redis is away: the job's own timeout or deadline still ends it on the host.
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

/** An answer this side cannot read (a host on another Node version's serialization): that run fails, the rest go on. */
function unreadable(task: string, error: unknown): TaskCrashedError {
  const failed = new TaskCrashedError(task, undefined, null, null);
  failed.message = `task "${task}" answered, but its result could not be read here (${(error as Error).message}); are the worker hosts on the same Node version?`;
  return failed;
}
