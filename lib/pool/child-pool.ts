// A pool of child processes that run the exported functions of one tasks
// module. Its options span the two classic shapes: a warm pool
// (minChildren = maxChildren, tasksPerChild = Infinity) and a fresh process per
// task (tasksPerChild = 1, with spares started ahead of demand). Results come
// back as IPC messages, handled on the event loop; nothing polls.
import { fork as nodeFork } from 'node:child_process';
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { Backoff } from './backoff.js';
import { Demand } from './demand.js';
import { ChildWorker, type ChildWorkerDeps, type ForkFn, type WorkerExit } from './child-worker.js';
import { PoolClosedError, QueueFullError, TaskCrashedError, type TaskLoadError } from './errors.js';
import { loaderFlags } from './exec-argv.js';
import { parentDeathLauncher } from './parent-death.js';
import { lowerPriority } from './child-priority.js';
import { Job, type Outcome } from './job.js';
import { checkTimeout, resolvePoolOptions, type ChildPoolOptions, type ResolvedPoolOptions } from './pool-options.js';
import type { RunOptions } from './run-options.js';
import { TaskQueue } from './task-queue.js';
import type { RunTask, TASKS, TaskRunner, UntypedTasks } from './task-types.js';

export interface PoolStats {
  /** Tasks in a child right now. */
  running: number;
  /** Tasks waiting for a child. */
  queued: number;
  completed: number;
  failed: number;
  crashed: number;
  timedOut: number;
  /** Their deadline passed before a child could begin them. */
  expired: number;
  aborted: number;
  /** Refused because the queue was full. */
  rejected: number;
  /** Child processes alive, busy or not. */
  children: number;
  /** Of those, ready and without a task. */
  idle: number;
  /** Idle children the pool keeps started now: the spares option, or more while tasks arrive faster than children start. */
  spares: number;
}

/** Injected so unit tests can swap processes for fakes. */
export interface PoolDeps extends ChildWorkerDeps {
  /** The program each child runs. */
  entry: string;
  /** The parent's own Node flags, from which children inherit the loader flags. */
  parentExecArgv: readonly string[];
}

export const defaultDeps: PoolDeps = {
  fork: nodeFork as unknown as ForkFn,
  setPriority: lowerPriority,
  entry: new URL('./child-entry.js', import.meta.url).pathname,
  parentExecArgv: process.execArgv,
  launcher: parentDeathLauncher(),
};

type Counts = Record<Exclude<Outcome, 'closed'>, number>;

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  /** Sum of all the recorded times, for Prometheus' summaries. */
  sum: number;
}

export interface PoolLatency {
  queueWaitMs: LatencySummary;
  runMs: LatencySummary;
}

// Recorded in whole microseconds (the histogram takes integers), at least 1.
const micros = (ms: number): number => Math.max(1, Math.round(ms * 1000));
const ms = (us: number): number => Math.round(us) / 1000;

function summarize(h: RecordableHistogram): LatencySummary {
  if (h.count === 0) return { count: 0, p50: 0, p99: 0, max: 0, sum: 0 };
  return { count: h.count, p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), sum: ms(h.mean * h.count) };
}

interface ReadyWaiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class ChildPool<M = UntypedTasks> implements TaskRunner<M> {
  declare readonly [TASKS]?: M;
  /**
   * Runs `task` (a function exported by the tasks module) with `args` in a
   * child. Rejects with TaskError, TaskCrashedError, TaskTimeoutError,
   * DeadlineError, QueueFullError, TaskLoadError, ChildStartError or
   * PoolClosedError, or the signal's reason.
   */
  readonly run: RunTask<M> = ((task: string, args?: readonly unknown[], options?: RunOptions) => this.#run(task, args, options)) as RunTask<M>;
  readonly options: Readonly<ResolvedPoolOptions>;
  readonly #deps: PoolDeps;
  readonly #execArgv: readonly string[];
  readonly #queue: TaskQueue<Job>;
  readonly #workers = new Set<ChildWorker>();
  readonly #running = new Map<Job, ChildWorker>();
  readonly #counts: Counts = { completed: 0, failed: 0, crashed: 0, timedOut: 0, expired: 0, aborted: 0, rejected: 0 };
  /** From run() to a ready child getting the task, and from then to the answer; microseconds. */
  readonly #queueWait = createHistogram();
  readonly #runTime = createHistogram();
  /** One 'abort' listener per signal, however many runs share it. */
  readonly #watched = new WeakMap<AbortSignal, Set<Job>>();
  readonly #backoff = new Backoff();
  readonly #demand = new Demand();
  #state: 'open' | 'closing' | 'destroyed' = 'open';
  /** Why the last child could not start; cleared when one becomes ready. */
  #loadError: TaskLoadError | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #maintainScheduled = false;
  #readyWaiters: ReadyWaiter[] = [];
  #whenAllExited: Promise<void> | undefined;
  #allExited: (() => void) | undefined;

  constructor(options: ChildPoolOptions, deps: Partial<PoolDeps> = {}) {
    this.options = Object.freeze(resolvePoolOptions(options));
    this.#deps = { ...defaultDeps, ...deps };
    this.#execArgv = this.options.execArgv ?? loaderFlags(this.#deps.parentExecArgv);
    this.#queue = new TaskQueue(this.options.maxQueue);
    this.#maintain();
  }

  /** How many ready children ready() waits for: the ones the pool keeps started. */
  get #readyTarget(): number {
    const { minChildren, spares, maxChildren } = this.options;
    return Math.min(maxChildren, Math.max(minChildren, spares));
  }

  /**
   * Resolves once the children the pool keeps started (minChildren, or spares
   * if more) are ready; rejects with TaskLoadError if the tasks module cannot
   * be loaded, or PoolClosedError once the pool is closed.
   */
  ready(): Promise<void> {
    if (this.#state !== 'open') return Promise.reject(new PoolClosedError());
    if (this.#readyCount() >= this.#readyTarget) return Promise.resolve();
    const broken = this.#unavailable();
    if (broken !== undefined) return Promise.reject(broken);
    return new Promise((resolve, reject) => this.#readyWaiters.push({ resolve, reject }));
  }

  stats(): PoolStats {
    let idle = 0;
    for (const worker of this.#workers) if (worker.ready && !worker.busy) idle += 1;
    return { running: this.#running.size, queued: this.#queue.size, ...this.#counts, children: this.#workers.size, idle, spares: this.#wantedSpares() };
  }

  /** How long tasks waited for a ready child, and how long they ran once there (answer, failure or kill). */
  latency(): PoolLatency {
    return { queueWaitMs: summarize(this.#queueWait), runMs: summarize(this.#runTime) };
  }

  /** Takes no more tasks, lets running and queued ones finish, then ends every child. */
  close(): Promise<void> {
    if (this.#state === 'open') {
      this.#state = 'closing';
      this.#shutdown();
    }
    const done = this.#whenExited();
    this.#settleClose();
    return done;
  }

  /** Ends every child now; pending runs reject with PoolClosedError. */
  destroy(): Promise<void> {
    if (this.#state !== 'destroyed') {
      if (this.#state === 'open') this.#shutdown();
      this.#state = 'destroyed';
      for (const job of this.#queue.drain()) job.fail(new PoolClosedError('pool was destroyed before the task started'), 'closed');
      for (const job of [...this.#running.keys()]) job.fail(new PoolClosedError('pool was destroyed while the task ran'), 'closed');
      for (const worker of this.#workers) worker.kill('SIGKILL');
    }
    const done = this.#whenExited();
    this.#settleClose();
    return done;
  }

  #run(task: string, args: readonly unknown[] = [], options: RunOptions = {}): Promise<unknown> {
    if (typeof task !== 'string' || task === '') return Promise.reject(new TypeError('task must be the name of a function the tasks module exports'));
    if (!Array.isArray(args)) return Promise.reject(new TypeError("args must be an array of the task's arguments"));
    if (this.#state !== 'open') return Promise.reject(new PoolClosedError());
    if (typeof options !== 'object' || options === null) return Promise.reject(new TypeError('run options must be an object: { signal, timeoutMs, deadlineMs }'));
    let timeoutMs: number;
    let deadlineMs: number;
    try {
      timeoutMs = options.timeoutMs === undefined ? this.options.timeoutMs : checkTimeout('run option timeoutMs', options.timeoutMs);
      deadlineMs = options.deadlineMs === undefined ? this.options.deadlineMs : checkTimeout('run option deadlineMs', options.deadlineMs);
    } catch (error) {
      return Promise.reject(error);
    }
    const { signal } = options;
    if (signal !== undefined && !(signal instanceof AbortSignal)) return Promise.reject(new TypeError('run option signal must be an AbortSignal'));
    if (signal?.aborted) {
      this.#counts.aborted += 1;
      return Promise.reject(signal.reason);
    }
    const job = new Job({
      task,
      args,
      timeoutMs,
      deadlineMs,
      onEnd: (ended, outcome) => {
        if (signal !== undefined) this.#unwatch(signal, ended);
        this.#onJobEnd(ended, outcome);
      },
      onCancel: (cancelled) => this.#onJobCancel(cancelled),
      onStart: (started) => this.#queueWait.record(micros(started.startedAt - started.createdAt)),
    });
    if (signal !== undefined) this.#watch(signal, job);
    this.#demand.arrived(performance.now());
    const broken = this.#unavailable();
    if (broken !== undefined) job.fail(broken, 'failed');
    else if (this.#queue.size > 0 || !this.#tryStart(job)) {
      if (this.#queue.full) job.fail(new QueueFullError(task, this.options.maxQueue), 'rejected');
      else this.#queue.push(job);
    }
    return job.promise;
  }

  /** A child for a job now: an idle one (ready first), else a new one if maxChildren allows. */
  #tryStart(job: Job): boolean {
    const idle = this.#idleWorker();
    const worker = idle ?? (this.#workers.size < this.options.maxChildren ? this.#startChild() : undefined);
    if (worker === undefined) return false;
    this.#running.set(job, worker);
    // A starting child sends the job the moment it is ready.
    worker.run(job);
    // A spare was taken. At a low rate its replacement waits for the answer
    // (a start-up would compete with the task for the CPU); while tasks arrive
    // faster than children start, it starts now.
    if (idle !== undefined && this.#demand.spares(performance.now()) > 0) this.#scheduleMaintain();
    return true;
  }

  #idleWorker(): ChildWorker | undefined {
    let starting: ChildWorker | undefined;
    for (const worker of this.#workers) {
      if (worker.busy) continue;
      if (worker.ready) return worker;
      starting ??= worker;
    }
    return starting;
  }

  #readyCount(): number {
    let ready = 0;
    for (const worker of this.#workers) if (worker.ready && !worker.leaving) ready += 1;
    return ready;
  }

  /** The tasks module does not load and no child is ready: runs fail at once instead of each starting a doomed child. */
  #unavailable(): TaskLoadError | undefined {
    if (this.#loadError === undefined) return undefined;
    return this.#readyCount() > 0 ? undefined : this.#loadError;
  }

  #startChild(): ChildWorker {
    const { tasksUrl, tasksPerChild, niceness, killGraceMs, startTimeoutMs } = this.options;
    const worker = new ChildWorker({ entry: this.#deps.entry, tasksUrl, tasksPerChild, execArgv: this.#execArgv, niceness, killGraceMs, startTimeoutMs }, this.#deps);
    this.#workers.add(worker);
    worker.on('ready', () => {
      this.#demand.childStarted(performance.now() - worker.startedAt);
      this.#loadError = undefined;
      this.#backoff.reset();
      this.#pump();
      this.#notifyReady();
    });
    worker.on('done', () => {
      this.#pump();
      // A child that is idle again needs no replacement; one that served its last task does.
      if (worker.leaving) this.#scheduleMaintain();
    });
    worker.on('exit', (exit) => this.#onWorkerExit(worker, exit));
    return worker;
  }

  #onWorkerExit(worker: ChildWorker, exit: WorkerExit): void {
    this.#workers.delete(worker);
    const { unstarted } = exit;
    if (unstarted !== undefined) {
      // The child left before it began this run: it goes first to another child, once.
      this.#running.delete(unstarted);
      if (unstarted.retried) unstarted.fail(new TaskCrashedError(unstarted.task, worker.pid, exit.exitCode, exit.signal), 'crashed');
      else {
        unstarted.retried = true;
        this.#queue.pushFront(unstarted);
      }
    }
    if (!exit.wasKilled && (!exit.wasReady || !exit.hadJob)) {
      // It died by itself, not of a task: before it was ready (a broken tasks
      // module, a bad flag) or while idle. Restarts wait out a back-off, so
      // such a module cannot make the pool fork in a loop.
      if (!exit.wasReady && exit.loadError !== undefined) {
        this.#loadError = exit.loadError;
        // Only when no child is ready: one that is can still serve the queue.
        if (this.#unavailable() !== undefined) {
          for (const waiting of this.#queue.drain()) waiting.fail(exit.loadError, 'failed');
          for (const waiter of this.#readyWaiters.splice(0)) waiter.reject(exit.loadError);
        }
      }
      this.#scheduleRestart();
    }
    // Killed (timeout, abort, retired) or crashed by its task: replaced at once.
    this.#pump();
    this.#scheduleMaintain();
  }

  /** Moves queued jobs to children while there are children to take them. */
  #pump(): void {
    for (let job = this.#queue.peek(); job !== undefined; job = this.#queue.peek()) {
      if (!this.#tryStart(job)) break;
      this.#queue.remove(job);
    }
    this.#settleClose();
  }

  // After the turn in which a child answered or left: the answer's own
  // callbacks (writing an HTTP response) run before fork() blocks the loop
  // for its ~1.6 ms.
  #scheduleMaintain(): void {
    if (this.#maintainScheduled || this.#state !== 'open') return;
    this.#maintainScheduled = true;
    setImmediate(() => {
      this.#maintainScheduled = false;
      this.#maintain();
    });
  }

  /** The spares option, raised to the tasks expected during one child's start-up; none if the option is 0. */
  #wantedSpares(): number {
    const { spares, maxChildren } = this.options;
    if (spares === 0) return 0;
    return Math.min(maxChildren, Math.max(spares, this.#demand.spares(performance.now())));
  }

  /** Starts children until minChildren are alive and spares are idle, within maxChildren. */
  #maintain(): void {
    if (this.#state !== 'open' || this.#restartTimer !== undefined) return;
    const { minChildren, maxChildren } = this.options;
    const spares = this.#wantedSpares();
    let idle = 0;
    for (const worker of this.#workers) if (!worker.busy) idle += 1;
    while (this.#workers.size < maxChildren && (this.#workers.size < minChildren || idle < spares)) {
      this.#startChild();
      idle += 1;
    }
    // A pool that keeps no child started still needs one to find out whether a broken module was fixed.
    if (this.#loadError !== undefined && this.#workers.size === 0) this.#startChild();
  }

  /** One back-off step per timer, however many children died meanwhile. */
  #scheduleRestart(): void {
    if (this.#state !== 'open' || this.#restartTimer !== undefined) return;
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      this.#maintain();
    }, this.#backoff.fail());
    this.#restartTimer.unref();
  }

  #notifyReady(): void {
    if (this.#readyWaiters.length === 0 || this.#readyCount() < this.#readyTarget) return;
    for (const waiter of this.#readyWaiters.splice(0)) waiter.resolve();
  }

  #onJobEnd(job: Job, outcome: Outcome): void {
    if (job.startedAt !== 0) this.#runTime.record(micros(performance.now() - job.startedAt));
    this.#running.delete(job);
    this.#queue.remove(job);
    if (outcome !== 'closed') this.#counts[outcome] += 1;
  }

  #onJobCancel(job: Job): void {
    if (this.#queue.remove(job)) return;
    const worker = this.#running.get(job);
    if (worker === undefined) return;
    // Not sent yet (its child is still starting): the child stays, free for the next run.
    if (worker.unassign(job)) {
      this.#running.delete(job);
      this.#pump();
    } else worker.kill();
  }

  #watch(signal: AbortSignal, job: Job): void {
    let jobs = this.#watched.get(signal);
    if (jobs === undefined) {
      const watching = new Set<Job>();
      jobs = watching;
      this.#watched.set(signal, watching);
      signal.addEventListener('abort', () => {
        this.#watched.delete(signal);
        for (const each of [...watching]) each.abort(signal.reason);
      }, { once: true });
    }
    jobs.add(job);
  }

  #unwatch(signal: AbortSignal, job: Job): void {
    this.#watched.get(signal)?.delete(job);
  }

  #shutdown(): void {
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    for (const waiter of this.#readyWaiters.splice(0)) waiter.reject(new PoolClosedError());
  }

  #whenExited(): Promise<void> {
    this.#whenAllExited ??= new Promise((resolve) => {
      this.#allExited = resolve;
    });
    return this.#whenAllExited;
  }

  // Once closing and nothing is left to run, idle children are ended; the
  // close promise resolves when the last one has exited.
  #settleClose(): void {
    if (this.#state === 'open') return;
    if (this.#queue.size === 0 && this.#running.size === 0) {
      for (const worker of this.#workers) if (!worker.busy) worker.kill();
    }
    if (this.#workers.size === 0) this.#allExited?.();
  }
}
