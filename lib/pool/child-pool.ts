// A pool of child processes that run the exported functions of one tasks
// module. Its options span the two classic shapes: a warm pool
// (minChildren = maxChildren, tasksPerChild = Infinity) and a fresh process per
// task (tasksPerChild = 1, with spares started ahead of demand). Results come
// back as IPC messages, handled on the event loop; nothing polls.
import { fork as nodeFork } from 'node:child_process';
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { MEMORY_SAMPLE_MS } from '../defaults.js';
import { Backoff } from './backoff.js';
import { canReadRss, readRssMb, readTreeRssMb } from './child-memory.js';
import { Demand } from './demand.js';
import { ChildWorker, type ChildWorkerDeps, type ForkFn, type WorkerExit } from './child-worker.js';
import { PoolClosedError, QueueFullError, TaskCrashedError, TaskMemoryError, type TaskLoadError } from './errors.js';
import { loaderFlags } from './exec-argv.js';
import { parentDeathLauncher } from './parent-death.js';
import { lowerPriority } from './child-priority.js';
import { Job, type Outcome } from './job.js';
import { checkTimeout, childEnv, resolvePoolOptions, type ChildPoolOptions, type ResolvedPoolOptions } from './pool-options.js';
import { killGroup, processGroupGuard } from './group-guard.js';
import { ageLimit, taskLimit, type RecycleReason } from './recycling.js';
import type { RunOptions } from './run-options.js';
import { SpawnBudget } from './spawn-budget.js';
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
  /** Child processes started since the pool was made. */
  started: number;
  /** Children replaced after their share of tasks (tasksPerChild above 1), their age or their size (recycleMemoryMb). */
  recycled: number;
  /** Children that left after idleTimeoutMs without a task. */
  shrunk: number;
  /** Children killed for passing maxMemoryMb during a task. */
  memoryKilled: number;
  /** Times the pool had to wait for the spawn budget (maxStartsPerSecond) before it could start a child. */
  startsDeferred: number;
}

/** One child, as /stats shows it. */
export interface ChildInfo {
  pid: number | undefined;
  state: 'starting' | 'idle' | 'busy' | 'leaving';
  /** Tasks it has answered. */
  tasks: number;
  ageMs: number;
  /** Resident memory when last read, MiB. */
  rssMb: number | undefined;
}

/** Injected so unit tests can swap processes for fakes. */
export interface PoolDeps extends ChildWorkerDeps {
  /** The program each child runs. */
  entry: string;
  /** The parent's own Node flags, from which children inherit the loader flags. */
  parentExecArgv: readonly string[];
  /** A child's RSS in MiB (from /proc), undefined if it cannot be read. */
  readRssMb: (pid: number) => number | undefined;
  /** The same, with every process it started (what the memory cap counts). */
  readTreeRssMb: (pid: number) => number | undefined;
  /** 0 <= r < 1, for each child's share of tasksPerChild jitter. */
  random: () => number;
}

export const defaultDeps: PoolDeps = {
  fork: nodeFork as unknown as ForkFn,
  setPriority: lowerPriority,
  entry: new URL('./child-entry.js', import.meta.url).pathname,
  parentExecArgv: process.execArgv,
  launcher: parentDeathLauncher(),
  killGroup,
  groupGuard: processGroupGuard,
  readRssMb,
  readTreeRssMb,
  random: Math.random,
};

type Counts = Record<Exclude<Outcome, 'closed'>, number>;

interface ChildCounts {
  started: number;
  recycled: number;
  shrunk: number;
  memoryKilled: number;
  startsDeferred: number;
}

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
/** How soon idle spares kept for a past arrival rate are looked at again (the rate's time constant). */
const RATE_RECHECK_MS = 1000;

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
  readonly #childCounts: ChildCounts = { started: 0, recycled: 0, shrunk: 0, memoryKilled: 0, startsDeferred: 0 };
  readonly #backoff = new Backoff();
  readonly #demand = new Demand();
  readonly #budget: SpawnBudget;
  /** Wakes the pool when the spawn budget has a start again. */
  #budgetTimer: NodeJS.Timeout | undefined;
  /** Ends children that are idle too long or too old, at the earliest such moment (#housekeepingAt). */
  #housekeepingTimer: NodeJS.Timeout | undefined;
  #housekeepingAt = Infinity;
  /** Reads busy children's RSS while maxMemoryMb is set and tasks run. */
  #memoryTimer: NodeJS.Timeout | undefined;
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
    const { maxMemoryMb, recycleMemoryMb } = this.options;
    if ((maxMemoryMb !== Infinity || recycleMemoryMb !== Infinity) && deps.readRssMb === undefined && !canReadRss()) {
      throw new RangeError('options maxMemoryMb and recycleMemoryMb need /proc (Linux) to read a child\'s memory; leave them out on this system');
    }
    this.#budget = new SpawnBudget(this.options.maxStartsPerSecond, performance.now());
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
    return {
      running: this.#running.size, queued: this.#queue.size, ...this.#counts, children: this.#workers.size, idle, spares: this.#wantedSpares(),
      ...this.#childCounts,
    };
  }

  /** Each child: pid, state, tasks answered, age and resident memory (read now). */
  children(): ChildInfo[] {
    const now = performance.now();
    return [...this.#workers].map((worker) => {
      if (worker.pid !== undefined) worker.rssMb = this.#deps.readRssMb(worker.pid) ?? worker.rssMb;
      const state = worker.leaving ? 'leaving' : !worker.ready ? 'starting' : worker.busy ? 'busy' : 'idle';
      return { pid: worker.pid, state, tasks: worker.served, ageMs: Math.round(now - worker.startedAt), rssMb: worker.rssMb === undefined ? undefined : Math.round(worker.rssMb * 10) / 10 };
    });
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
      clearTimeout(this.#budgetTimer);
      this.#budgetTimer = undefined;
      // A closing pool keeps watching the memory of the tasks it still runs; a destroyed one runs none.
      clearInterval(this.#memoryTimer);
      this.#memoryTimer = undefined;
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
      onStart: (started) => {
        this.#queueWait.record(micros(started.startedAt - started.createdAt));
        this.#watchMemory();
      },
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
    const worker = idle ?? (this.#countedChildren() < this.options.maxChildren && !this.#backingOff() && this.#mayStart(true) ? this.#startChild() : undefined);
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

  /**
   * Children that count against maxChildren: every process alive, leaving
   * ones included. A recycled child's replacement starts when it has exited
   * (within the kill grace), so a teardown() that takes its time can never
   * pile processes up past the limit.
   */
  #countedChildren(): number {
    return this.#workers.size;
  }

  /** The tasks module failed to load and the next start waits out the back-off. */
  #backingOff(): boolean {
    return this.#loadError !== undefined && this.#restartTimer !== undefined;
  }

  // Replaced children only: a shrunk one (idle) is not replaced, and a
  // process-per-task child (tasksPerChild 1) that answered is simply done.
  #isRecycled(worker: ChildWorker): boolean {
    const reason = worker.leaveReason;
    return reason === 'age' || reason === 'memory' || (reason === 'tasks' && this.options.tasksPerChild > 1);
  }

  /** Children that will take tasks: started or starting, not leaving. */
  #liveChildren(): number {
    let live = 0;
    for (const worker of this.#workers) if (!worker.leaving) live += 1;
    return live;
  }

  /**
   * A token from the spawn budget, or a wake-up when the next one comes. The
   * wake-up keeps the process alive only when a task waits for that start
   * (`forTask`); spares alone do not.
   */
  #mayStart(forTask = false): boolean {
    const now = performance.now();
    if (this.#budget.take(now)) return true;
    if (this.#budgetTimer === undefined) {
      this.#childCounts.startsDeferred += 1;
      this.#budgetTimer = setTimeout(() => {
        this.#budgetTimer = undefined;
        this.#pump();
        this.#maintain();
      }, this.#budget.waitMs(now));
      this.#budgetTimer.unref();
    }
    if (forTask) this.#budgetTimer.ref();
    return false;
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
    const { tasksUrl, niceness, killGraceMs, startTimeoutMs } = this.options;
    const tasksPerChild = taskLimit(this.options.tasksPerChild, this.#deps.random);
    const worker = new ChildWorker({ entry: this.#deps.entry, tasksUrl, tasksPerChild, execArgv: this.#execArgv, niceness, killGraceMs, startTimeoutMs, env: childEnv(this.options), maxResultBytes: this.options.maxResultBytes }, this.#deps);
    worker.ageLimitMs = ageLimit(this.options.maxChildAgeMs, this.#deps.random);
    this.#workers.add(worker);
    this.#childCounts.started += 1;
    // Its setup() counts against the memory cap as its tasks do.
    this.#watchMemory();
    worker.on('ready', () => {
      this.#demand.childStarted(performance.now() - worker.startedAt);
      this.#loadError = undefined;
      this.#backoff.reset();
      this.#pump();
      this.#takeOverFromStarting(worker);
      this.#notifyReady();
      this.#scheduleHousekeeping();
    });
    worker.on('done', () => {
      // A child that served its task limit is recycled (tasksPerChild above 1); any other is checked for age and size.
      if (!worker.leaving) this.#recycleIfDue(worker);
      else if (this.#isRecycled(worker)) this.#childCounts.recycled += 1;
      this.#pump();
      this.#takeOverFromStarting(worker);
      // A child that is idle again needs no replacement; one that served its last task does.
      if (worker.leaving) this.#scheduleMaintain();
      else this.#scheduleHousekeeping();
    });
    worker.on('exit', (exit) => this.#onWorkerExit(worker, exit));
    return worker;
  }

  #onWorkerExit(worker: ChildWorker, exit: WorkerExit): void {
    this.#workers.delete(worker);
    const { unstarted } = exit;
    if (unstarted !== undefined) {
      // The child never began this run: it goes first to another child. One
      // the child had received goes elsewhere once (a child that keeps
      // leaving must not bounce it forever); one it never received (it died
      // while starting) may wait for any child, as a queued run does.
      this.#running.delete(unstarted);
      if (exit.unstartedWasSent && unstarted.retried) unstarted.fail(new TaskCrashedError(unstarted.task, worker.pid, exit.exitCode, exit.signal), 'crashed');
      else {
        if (exit.unstartedWasSent) unstarted.retried = true;
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
      // Out of the queue before it is handed over: a run that expires inside
      // the hand-over must be found with its child, or the child stays busy.
      this.#queue.remove(job);
      if (!this.#tryStart(job)) {
        this.#queue.pushFront(job);
        break;
      }
    }
    this.#settleClose();
  }

  /**
   * A child that is free and ready takes a run still waiting for a child
   * that is starting (its setup() may hang, or fail): that run should not
   * wait for a start-up while a child sits idle. The starting child stays.
   */
  #takeOverFromStarting(free: ChildWorker): void {
    if (free.busy || !free.ready || this.#queue.size > 0) return;
    for (const [job, worker] of this.#running) {
      if (worker.ready || !worker.unassign(job)) continue;
      this.#running.set(job, free);
      free.run(job);
      return;
    }
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
    let counted = this.#countedChildren();
    let live = this.#liveChildren();
    while (counted < maxChildren && (live < minChildren || idle < spares) && this.#mayStart()) {
      this.#startChild();
      idle += 1;
      counted += 1;
      live += 1;
    }
    // A pool that keeps no child started still needs one to find out whether a broken module was fixed.
    if (this.#loadError !== undefined && this.#workers.size === 0 && this.#mayStart()) this.#startChild();
  }

  /** After an answer: a child past its age or its recycle size is replaced now, gracefully. */
  #recycleIfDue(worker: ChildWorker): void {
    const { recycleMemoryMb } = this.options;
    if (performance.now() - worker.startedAt >= worker.ageLimitMs) this.#recycle(worker, 'age');
    else if (recycleMemoryMb !== Infinity && worker.pid !== undefined) {
      worker.rssMb = this.#deps.readRssMb(worker.pid) ?? worker.rssMb;
      if (worker.rssMb !== undefined && worker.rssMb > recycleMemoryMb) this.#recycle(worker, 'memory');
    }
  }

  #recycle(worker: ChildWorker, reason: RecycleReason): void {
    worker.stop(reason);
    if (reason === 'idle') this.#childCounts.shrunk += 1;
    else this.#childCounts.recycled += 1;
    this.#scheduleMaintain();
  }

  /** After a child became idle: look again now, unless a look is due before this child could be due. */
  #scheduleHousekeeping(): void {
    const { maxChildAgeMs, idleTimeoutMs, minChildren, maxChildren } = this.options;
    // Nothing can ever be due (the demo's warm pool): no work per task.
    if (this.#state !== 'open' || (maxChildAgeMs === Infinity && (idleTimeoutMs === Infinity || minChildren >= maxChildren))) return;
    if (this.#housekeepingTimer !== undefined && this.#housekeepingAt <= performance.now() + Math.min(idleTimeoutMs, maxChildAgeMs)) return;
    this.#housekeep();
  }

  /**
   * Idle children past maxChildAgeMs are replaced; idle children beyond
   * minChildren and the spares, idle for idleTimeoutMs, leave (longest idle
   * first). Busy children are looked at when they answer. Then the timer is
   * set for the next such moment, if any.
   */
  #housekeep(): void {
    clearTimeout(this.#housekeepingTimer);
    this.#housekeepingTimer = undefined;
    this.#housekeepingAt = Infinity;
    if (this.#state !== 'open') return;
    const { idleTimeoutMs, minChildren, spares } = this.options;
    const now = performance.now();
    let next = Infinity;
    const idle: ChildWorker[] = [];
    for (const worker of this.#workers) {
      if (worker.leaving || !worker.ready || worker.busy) continue;
      const oldAt = worker.startedAt + worker.ageLimitMs;
      if (now >= oldAt) this.#recycle(worker, 'age');
      else {
        next = Math.min(next, oldAt);
        idle.push(worker);
      }
    }
    if (idleTimeoutMs !== Infinity) {
      let live = this.#liveChildren();
      let spare = idle.length;
      const keepIdle = this.#wantedSpares();
      idle.sort((a, b) => a.idleSince - b.idleSince);
      for (const worker of idle) {
        if (live <= minChildren) break;
        if (spare <= keepIdle) {
          // Kept as spares the arrival rate calls for; that rate decays within seconds, so look again then.
          if (keepIdle > spares) next = Math.min(next, now + RATE_RECHECK_MS);
          break;
        }
        const dueAt = worker.idleSince + idleTimeoutMs;
        if (now < dueAt) {
          next = Math.min(next, dueAt);
          break;
        }
        this.#recycle(worker, 'idle');
        live -= 1;
        spare -= 1;
      }
    }
    if (next === Infinity) return;
    this.#housekeepingAt = next;
    this.#housekeepingTimer = setTimeout(() => this.#housekeep(), Math.max(1, Math.ceil(next - now)));
    this.#housekeepingTimer.unref();
  }

  /** While tasks run or children start, and maxMemoryMb is set: read their RSS every MEMORY_SAMPLE_MS. */
  #watchMemory(): void {
    if (this.options.maxMemoryMb === Infinity || this.#memoryTimer !== undefined) return;
    this.#memoryTimer = setInterval(() => this.#checkMemory(), MEMORY_SAMPLE_MS);
    this.#memoryTimer.unref();
  }

  #checkMemory(): void {
    const cap = this.options.maxMemoryMb;
    let watched = 0;
    for (const worker of [...this.#workers]) {
      if (worker.pid === undefined || worker.leaving) continue;
      const job = this.#jobOf(worker);
      const starting = !worker.ready;
      if (!starting && job === undefined) continue;
      watched += 1;
      const rss = this.#deps.readTreeRssMb(worker.pid);
      if (rss === undefined) continue;
      worker.rssMb = rss;
      if (rss <= cap) continue;
      // Killed from here: its own loop may be stuck in the allocation.
      this.#childCounts.memoryKilled += 1;
      if (starting) worker.failStart(`its setup() passed the memory cap of ${cap} MiB (${Math.round(rss)} MiB)`);
      else {
        worker.kill('SIGKILL');
        job!.fail(new TaskMemoryError(job!.task, cap, rss), 'failed');
      }
    }
    if (watched === 0) {
      clearInterval(this.#memoryTimer);
      this.#memoryTimer = undefined;
    }
  }

  /** The run a child has begun, if any. */
  #jobOf(worker: ChildWorker): Job | undefined {
    for (const [job, owner] of this.#running) if (owner === worker && job.started) return job;
    return undefined;
  }

  /** One back-off step per timer, however many children died meanwhile. */
  #scheduleRestart(): void {
    if (this.#state !== 'open' || this.#restartTimer !== undefined) return;
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      this.#pump();
      this.#maintain();
    }, this.#backoff.fail());
    this.#restartTimer.unref();
  }

  #notifyReady(): void {
    if (this.#readyWaiters.length === 0 || this.#readyCount() < this.#readyTarget) return;
    for (const waiter of this.#readyWaiters.splice(0)) waiter.resolve();
  }

  #onJobEnd(job: Job, outcome: Outcome): void {
    if (job.started) this.#runTime.record(micros(performance.now() - job.startedAt));
    this.#running.delete(job);
    this.#queue.remove(job);
    if (outcome !== 'closed') this.#counts[outcome] += 1;
    // A closing pool whose last queued task expired or was aborted has nothing left to wait for.
    if (this.#state === 'closing') queueMicrotask(() => this.#settleClose());
  }

  #onJobCancel(job: Job): void {
    this.#queue.remove(job);
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
    clearTimeout(this.#housekeepingTimer);
    this.#housekeepingTimer = undefined;
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
      // Gracefully: each runs its teardown() and exits (SIGKILL after the kill grace).
      for (const worker of this.#workers) if (!worker.busy) worker.stop('close');
    }
    if (this.#workers.size === 0) this.#allExited?.();
  }
}
