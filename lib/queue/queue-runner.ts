// QueueRunner: a TaskRunner whose run() sends the task to whichever worker
// host takes it first (BullMQ on Redis), so offload() and the framework
// adapters work with it unchanged. Each runner has an inbox of its own (a
// Redis list named by its id): the host that ran a job pushes the answer
// there, and the runner reads only its own answers, with a blocking read on
// a connection of its own. Nothing polls, no answer is lost to a trimmed
// shared stream, and no server parses another server's results.
import type { ConnectionOptions, Queue } from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { QUEUE_DEFAULTS } from '../defaults.js';
import { PoolClosedError, TaskCrashedError } from '../pool/errors.js';
import { pastDeadline } from '../pool/run-timing.js';
import { checkRun, type RunOptions } from '../pool/run-options.js';
import type { RunTask, TASKS, TaskRunner, UntypedTasks } from '../pool/task-types.js';
import { activeTraceCarrier } from '../trace/span-context.js';
import { bounded } from './bounded.js';
import { cancelChannel, cancelledKey, inboxKey, keySpace } from './channels.js';
import { QueueUnavailableError } from './errors.js';
import { Inbox, type Outcome } from './inbox.js';
import { bullmq, ioredis } from './peer.js';
import { redisProblem } from './redis-check.js';
import { takeBack } from './take-back.js';
import { jobData, type JobData, type JobResult } from './wire.js';

export interface QueueRunnerOptions {
  /** Redis, as ioredis options such as { host, port }, or { sentinels, name } for Sentinel (BullMQ's connection option); parseRedisUrl() makes them from a URL. */
  connection: RedisOptions;
  /** The queue's name, the same as the worker hosts'. */
  queue: string;
  /** The start of the queue's Redis keys, the same as the worker hosts'; a Redis Cluster needs a hash tag such as "{slowlane}". Default "bull" (BullMQ's). */
  prefix?: string;
  /** Each run's timeout on the worker host, unless the run says. Default: the worker's pool's. */
  timeoutMs?: number;
  /** Each run's deadline from run() to answer, waiting included, unless the run says. Default: none (set one: with no worker host alive, a run waits until it). */
  deadlineMs?: number;
  /** Tasks that may run again on another host if the first died mid-job. Default: none. */
  idempotent?: readonly string[];
}

/** What a runner has seen, for a server's /stats. */
export interface QueueRunnerStats {
  /** Runs waiting for their answer now. */
  waiting: number;
  /** Answers read from this runner's inbox that settled a run. */
  answered: number;
  /** Answers read for runs no longer waiting (given up on: deadline, client gone), or entries not ours. */
  late: number;
}

interface Pending {
  task: string;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class QueueRunner<M = UntypedTasks> implements TaskRunner<M> {
  declare readonly [TASKS]?: M;
  /** Names this runner's inbox; a host answers here. */
  readonly id = randomUUID();
  readonly #options: QueueRunnerOptions;
  /** Where this queue's keys are (BullMQ's prefix and the queue's name). */
  readonly #space: string;
  readonly #queue: Queue<JobData, JobResult>;
  /** Commands: the queue's, the cancel marks and messages, big answers fetched; its state is the runner's view of Redis. */
  readonly #commands: Redis;
  readonly #inbox: Inbox;
  readonly #pending = new Map<string, Pending>();
  readonly #listening: Promise<unknown>;
  readonly #stats = { answered: 0, late: 0 };
  /** Connected and listening (the first time); after that, a lost connection fails runs at once. */
  #connected = false;
  /** Why Redis will not let us in (a wrong password, an untrusted certificate), while that lasts: said instead of "unreachable". */
  #problem: string | undefined;
  #closed = false;

  constructor(options: QueueRunnerOptions) {
    const { Queue } = bullmq();
    const Redis = ioredis();
    this.#options = options;
    this.#space = keySpace(options.prefix ?? QUEUE_DEFAULTS.prefix, options.queue);
    // Fail fast while Redis is away (a 503 now, not a request held until it
    // returns): no offline queue, one retry of a command cut off; ioredis
    // reconnects by itself. The queue shares this connection, so that
    // close() can always cut it (BullMQ's own, with Redis away, reconnects on).
    this.#commands = new Redis({ ...options.connection, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    this.#queue = new Queue<JobData, JobResult>(options.queue, {
      prefix: options.prefix ?? QUEUE_DEFAULTS.prefix,
      connection: this.#commands as unknown as ConnectionOptions,
      streams: { events: { maxLen: QUEUE_DEFAULTS.eventsMaxLen } },
    });
    this.#queue.on('error', () => {});
    this.#commands.on('error', (error: unknown) => (this.#problem = redisProblem(error) ?? this.#problem));
    const connected = new Promise<void>((resolve) => this.#commands.once('ready', () => resolve()));
    this.#commands.on('ready', () => {
      this.#connected = true;
      this.#problem = undefined;
    });
    // Redis went away: the runs waiting may never hear back (a restarted Redis
    // has lost their jobs and inboxes), so they fail now as the next ones will, with 503.
    this.#commands.on('close', () => {
      this.#connected = false;
      for (const [jobId, pending] of this.#pending) this.#settle(jobId, (p) => p.reject(new QueueUnavailableError(pending.task, { problem: this.#problem })));
    });
    // A blocking read holds its connection: the inbox has its own, which waits out a Redis restart instead of failing.
    const reader = new Redis({ ...options.connection, maxRetriesPerRequest: null });
    reader.on('error', () => {});
    this.#inbox = new Inbox({ reader, fetcher: this.#commands, space: this.#space, runnerId: this.id, onAnswer: (jobId, outcome) => this.#answered(jobId, outcome) });
    this.#inbox.start();
    const reading = new Promise<void>((resolve) => reader.once('ready', () => resolve()));
    this.#listening = Promise.all([this.#queue.waitUntilReady(), connected, reading]);
    this.#listening.catch(() => {});
  }

  /** Resolves once connected to Redis and reading its inbox (it waits while Redis is away). */
  async ready(): Promise<void> {
    await this.#listening;
  }

  stats(): QueueRunnerStats {
    return { waiting: this.#pending.size, ...this.#stats };
  }

  readonly run: RunTask<M> = ((task: string, args: readonly unknown[] = [], options: RunOptions = {}) => this.#run(task, args, options)) as RunTask<M>;

  async #run(task: string, args: readonly unknown[], options: RunOptions): Promise<unknown> {
    const run = checkRun(task, args, options, { timeoutMs: this.#options.timeoutMs ?? Infinity, deadlineMs: this.#options.deadlineMs ?? Infinity });
    if (this.#closed) throw new PoolClosedError('queue runner is closed and takes no more tasks');
    const { signal, deadlineMs } = run;
    signal?.throwIfAborted();
    const deadlineAt = deadlineMs === Infinity ? undefined : Date.now() + deadlineMs;
    const jobId = randomUUID();
    // Registered before any wait: the client leaving, or the deadline, while
    // connecting or adding still ends the run, and the job is withdrawn.
    const answer = new Promise<unknown>((resolve, reject) => this.#pending.set(jobId, { task, resolve, reject }));
    answer.catch(() => {}); // settled (by close() or a lost connection) before it is awaited below: not unhandled
    let added = false;
    const gone = (): void => {
      this.#settle(jobId, (p) => p.reject(signal!.reason));
      if (added) void this.#withdraw(jobId);
    };
    signal?.addEventListener('abort', gone, { once: true });
    const deadline = deadlineAt === undefined ? undefined : setTimeout(() => void this.#deadlinePassed(jobId, task, deadlineMs, added), deadlineMs);
    try {
      // A new runner gets a moment to connect; after that, no connection is a 503 at once, never a wait.
      if (!this.#connected) await Promise.race([this.#listening.catch(() => undefined), delay(QUEUE_DEFAULTS.connectWaitMs, undefined, { ref: false })]);
      if (!this.#pending.has(jobId)) return await answer; // aborted, or past its deadline, already
      if (!this.#connected) throw new QueueUnavailableError(task, { problem: this.#problem });
      const data = jobData(run, { replyTo: this.id, deadlineAt, idempotent: this.#options.idempotent?.includes(task), trace: run.trace ?? activeTraceCarrier() });
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

  /**
   * A run's deadline passed. A job no host took yet is taken back: it never
   * starts (DeadlineError, 503). One that is not waiting is held by a host,
   * or was answered a moment ago: a timeout (504), and the host is told to
   * stop it. So is one a host that died had started.
   */
  async #deadlinePassed(jobId: string, task: string, deadlineMs: number, added: boolean): Promise<void> {
    if (!this.#pending.has(jobId)) return;
    let neverStarted = !added;
    if (added) {
      // Never started is known only from Redis's answer: an error (Redis busy or away) counts as held, and the host is told to stop.
      const back = await takeBack(this.#commands, this.#space, jobId).catch(() => undefined);
      neverStarted = back?.taken === true && !back.started;
      // Out of the waiting list, no host can take it: its hash goes too.
      if (back?.taken === true) void this.#queue.remove(jobId).catch(() => 0);
    }
    this.#settle(jobId, (p) => p.reject(pastDeadline({ task, deadlineMs }, !neverStarted)));
    if (!neverStarted) void this.#cancel(jobId);
  }

  #answered(jobId: string, outcome: Outcome): void {
    const pending = this.#pending.get(jobId);
    if (pending === undefined) {
      this.#stats.late++;
      return;
    }
    this.#stats.answered++;
    this.#settle(jobId, (p) => (outcome.ok ? p.resolve(outcome.value) : p.reject(outcome.unreadable === true ? unreadable(p.task, outcome.error) : outcome.error)));
  }

  #settle(jobId: string, how: (pending: Pending) => void): void {
    const pending = this.#pending.get(jobId);
    if (pending === undefined) return; // settled already
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
    await this.#cancel(jobId);
  }

  async #cancel(jobId: string): Promise<void> {
    try {
      // The mark first, then the message: a host that takes the job later sees the mark; one that holds it hears the message.
      await this.#commands.set(cancelledKey(this.#space, jobId), '1', 'PX', QUEUE_DEFAULTS.cancelMarkMs);
      await this.#commands.publish(cancelChannel(this.#space), jobId);
    } catch {
      // Redis is away: the job's own timeout or deadline still ends it on the host.
    }
  }

  /**
   * Stops reading answers; runs still waiting reject with PoolClosedError.
   * Closes nothing on the worker hosts. Bounded: with Redis away it resolves
   * after closeTimeoutMs, its connections cut.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const [jobId] of this.#pending) this.#settle(jobId, (p) => p.reject(new PoolClosedError('queue runner was closed before the answer came')));
    this.#inbox.close();
    // The inbox goes with its reader: answers still on their way expire with it.
    const tidy = this.#connected ? this.#commands.del(inboxKey(this.#space, this.id)).catch(() => 0) : Promise.resolve(0);
    await bounded(Promise.allSettled([this.#queue.close(), tidy]), QUEUE_DEFAULTS.closeTimeoutMs);
    this.#commands.disconnect();
  }
}

/** An answer this side cannot read (a host on another Node version's serialization): that run fails, the rest go on. */
function unreadable(task: string, error: unknown): TaskCrashedError {
  const failed = new TaskCrashedError(task, undefined, null, null);
  failed.message = `task "${task}" answered, but its result could not be read here (${(error as Error).message}); are the worker hosts on the same Node version?`;
  return failed;
}
