// The pool's scheduling behind ChildPool's public face: the Dispatcher moves
// runs (queue, runs held, aborts), the Fleet holds the children, policy/
// decides, #reconcile is where children start and leave, and exits.ts's
// carryOut() is the one call that tells a child to go.
import { assertCanReadMemory } from '../os/memory.js';
import { ChildWorker, type Answer, type WorkerExit } from './worker.js';
import { Dispatcher, type StreamSpec } from './dispatcher.js';
import { carryOut } from './exits.js';
import { PoolClosedError, QueueFullError, type TaskLoadError } from '../errors.js';
import { loaderFlags } from '../launch/exec-argv.js';
import { Fleet } from './fleet.js';
import type { Job } from './job.js';
import { MemoryCap } from './policy/memory-cap.js';
import { ageLimit, dueAfterAnswer, idleRetirement, taskLimit, type RecycleReason } from './policy/retirement.js';
import { Spares } from './policy/spares.js';
import { startPlan } from './policy/start-plan.js';
import { StartGate } from './policy/start-gate.js';
import { poolDeps, type PoolDeps } from '../pool-deps.js';
import { childEnv, type ResolvedPoolOptions } from '../pool-options.js';
import { childInfo, PoolCounters, type ChildInfo, type PoolLatency, type PoolStats } from './stats.js';
import { PoolWaiters } from './waiters.js';
import { TaskNames } from './task-names.js';
import type { Spawner } from '../launch/spawner/spawner.js';
import { checkRun, type Run, type RunOptions } from '../run-options.js';
import { WakeUp } from './wake-up.js';
import { traceRun } from '../../trace/run-trace.js';

/** ChildPool's workings; its public methods are documented there. */
export class Scheduler {
  readonly options: Readonly<ResolvedPoolOptions>;
  readonly #deps: PoolDeps;
  readonly #execArgv: readonly string[];
  readonly #fleet = new Fleet();
  readonly #dispatcher: Dispatcher;
  readonly #counters = new PoolCounters();
  readonly #gate: StartGate;
  readonly #spares: Spares;
  readonly #memory: MemoryCap;
  /** How many ready children ready() waits for: the ones the pool keeps started. */
  readonly #readyTarget: number;
  /** Some child can become due for age or idle shrink: otherwise (a warm pool) an answer costs no reconcile. */
  readonly #limitsCanBeDue: boolean;
  #state: 'open' | 'closing' | 'destroyed' = 'open';
  #reconcileQueued = false;
  readonly #wakeUp = new WakeUp(() => {
    this.#dispatcher.pump();
    this.#reconcile();
  });
  readonly #waiters = new PoolWaiters();
  readonly #names: TaskNames;
  /** The server's spawner, when it starts this pool's children. */
  readonly #spawner: Spawner | undefined;
  /** Gives back this pool's share of the process's helpers, once it has closed. */
  readonly #release: () => void;
  #held = true; // children keep this process alive: see #updateHold

  constructor(options: Readonly<ResolvedPoolOptions>, deps: Partial<PoolDeps>) {
    this.options = options;
    ({ deps: this.#deps, spawner: this.#spawner, release: this.#release } = poolDeps(deps, this.options.spawner));
    this.#names = new TaskNames(this.options.tasksUrl);
    this.#execArgv = this.options.execArgv ?? loaderFlags(this.#deps.parentExecArgv);
    const { maxMemoryMb, recycleMemoryMb, maxChildAgeMs, idleTimeoutMs, minChildren, maxChildren } = this.options;
    if (deps.readRssMb === undefined && deps.readTreeRssMb === undefined) assertCanReadMemory(maxMemoryMb, recycleMemoryMb);
    this.#readyTarget = Math.min(maxChildren, Math.max(minChildren, this.options.spares));
    this.#limitsCanBeDue = maxChildAgeMs !== Infinity || (idleTimeoutMs !== Infinity && minChildren < maxChildren);
    this.#gate = new StartGate(this.options.maxStartsPerSecond, performance.now());
    this.#spares = new Spares(this.options.spares, maxChildren);
    this.#memory = new MemoryCap(maxMemoryMb, this.#deps.readTreeRssMb);
    this.#dispatcher = new Dispatcher({
      pick: (stream) => this.#fleet.pick(stream),
      started: (job) => {
        this.#counters.started(job.startedAt - job.createdAt);
        this.#sampleSoon();
      },
      ended: (job, outcome) => {
        if (job.started) this.#counters.ran(performance.now() - job.startedAt);
        this.#counters.ended(outcome);
        this.#updateHold();
        // A closing pool whose last queued task expired or was aborted has nothing left to wait for.
        if (this.#state === 'closing') queueMicrotask(() => this.#settleClose());
      },
      end: (child, exit) => carryOut(child, exit),
    });
    this.#reconcile();
    this.#updateHold();
  }

  ready(): Promise<void> {
    if (this.#state !== 'open') return Promise.reject(new PoolClosedError());
    const misspelt = this.#names.missing();
    if (misspelt !== undefined) return Promise.reject(misspelt);
    if (this.#fleet.counts().ready >= this.#readyTarget) return Promise.resolve();
    const broken = this.#unavailable();
    if (broken !== undefined) return Promise.reject(broken);
    const waiting = this.#waiters.ready();
    this.#updateHold();
    return waiting;
  }

  expectTask(name: string): void {
    this.#names.expect(name);
  }

  stats(): PoolStats {
    const counts = this.#fleet.counts();
    return {
      running: this.#dispatcher.running, queued: this.#dispatcher.queued, ...this.#counters.runs,
      children: counts.alive, idle: counts.idle, spares: this.#spares.wanted(performance.now()),
      ...this.#counters.children, startsDeferred: this.#gate.deferred, spawnersStarted: this.#spawner?.stats().started ?? 0,
    };
  }

  children(): ChildInfo[] {
    const now = performance.now();
    return [...this.#fleet].map((child) => childInfo(child, now, child.pid === undefined ? undefined : (this.#deps.readRssMb(child.pid) ?? this.#memory.last(child.pid))));
  }

  latency(): PoolLatency {
    return this.#counters.latency();
  }

  close(): Promise<void> {
    if (this.#state === 'open') {
      this.#state = 'closing';
      this.#updateHold();
      this.#waiters.rejectReady(new PoolClosedError());
    }
    const done = this.#waiters.closed();
    this.#settleClose();
    return done;
  }

  destroy(): Promise<void> {
    if (this.#state !== 'destroyed') {
      this.#state = 'destroyed';
      this.#updateHold(); // held until the children have exited; the wake-up is cleared then (#settleClose)
      this.#waiters.rejectReady(new PoolClosedError());
      this.#dispatcher.failQueued(new PoolClosedError('pool was destroyed before the task started'), 'closed');
      this.#dispatcher.failRunning(new PoolClosedError('pool was destroyed while the task ran'), 'closed');
      for (const child of this.#fleet) carryOut(child, { how: 'kill', signal: 'SIGKILL' });
    }
    const done = this.#waiters.closed();
    this.#settleClose();
    return done;
  }

  /** A generator run's reader took `n` more chunks: the child may send as many more. */
  credit(job: Job, n: number): void {
    this.#dispatcher.credit(job, n);
  }

  /** A checked run on its way: sent to a free child, or queued (a child started for it if the limits allow), or refused. */
  submit(task: string, args: readonly unknown[], options: RunOptions, stream: StreamSpec | undefined): { job: Job } | { error: unknown } {
    let run: Run;
    try {
      run = checkRun(task, args, options, this.options);
    } catch (error) {
      return { error };
    }
    if (this.#state !== 'open') return { error: new PoolClosedError() };
    const misspelt = this.#names.unknown(task);
    if (misspelt !== undefined) return { error: misspelt };
    if (run.signal?.aborted) {
      this.#counters.runs.aborted += 1;
      return { error: run.signal.reason };
    }
    const job = this.#dispatcher.create(run, stream, traceRun(task, run.label, stream !== undefined, run.trace));
    const now = performance.now();
    this.#spares.arrived(now);
    const broken = this.#unavailable();
    if (broken !== undefined) job.fail(broken, 'failed');
    else {
      this.#dispatcher.enqueue(job);
      this.#updateHold();
      this.#dispatcher.pump();
      // A spare was taken: replaced now only while tasks arrive faster than children start.
      if (job.started || job.settled) {
        if (this.#spares.replaceAtOnce(now)) this.#scheduleReconcile();
      } else {
        // No free child: start one now, if the limits allow.
        this.#reconcile();
        // The pool's bound and this run's own (offload() sets one for a server's requests), whichever is lower.
        const maxQueue = Math.min(this.options.maxQueue, run.maxQueue);
        if (!job.settled && this.#dispatcher.queued - this.#fleet.counts().starting > maxQueue) job.fail(new QueueFullError(task, maxQueue), 'rejected');
      }
    }
    return { job };
  }

  /** The tasks module does not load and no child is ready: runs fail at once instead of each waiting for a doomed child. */
  #unavailable(): TaskLoadError | undefined {
    const error = this.#gate.loadError;
    return error !== undefined && this.#fleet.counts().ready === 0 ? error : undefined;
  }

  #startChild(): void {
    const { tasksUrl, niceness, killGraceMs, startTimeoutMs, maxResultBytes, tasksPerChild, maxChildAgeMs } = this.options;
    const { random } = this.#deps;
    const spec = { entry: this.#deps.entry, tasksUrl, tasksPerChild: taskLimit(tasksPerChild, random), prefetch: this.options.prefetch, ageLimitMs: ageLimit(maxChildAgeMs, random), execArgv: this.#execArgv, niceness, killGraceMs, startTimeoutMs, env: childEnv(this.options), maxResultBytes, sharedMemoryBytes: this.#deps.sharedMemory ? this.options.sharedMemoryBytes : Infinity };
    const child = new ChildWorker(spec, this.#deps);
    this.#fleet.add(child);
    if (!this.#held) child.hold(false);
    this.#counters.children.started += 1;
    // Its setup() counts against the memory cap as its tasks do.
    this.#sampleSoon();
    child.on('ready', (tasks) => this.#onReady(child, tasks));
    child.on('answer', (job, answer) => this.#onAnswer(child, job, answer));
    child.on('chunk', (job, value, bytes) => this.#dispatcher.chunk(job, value, bytes));
    child.on('exit', (exit) => this.#onExit(child, exit));
  }

  #onReady(child: ChildWorker, tasks: unknown): void {
    this.#names.learn(tasks);
    this.#spares.childStarted(performance.now() - child.startedAt);
    this.#gate.childReady();
    this.#dispatcher.pump();
    const misspelt = this.#names.missing();
    if (misspelt !== undefined) this.#waiters.rejectReady(misspelt);
    else if (this.#waiters.waitingForReady && this.#fleet.counts().ready >= this.#readyTarget) this.#waiters.resolveReady();
    this.#updateHold();
    if (this.#limitsCanBeDue || this.#state !== 'open') this.#scheduleReconcile();
  }

  // The answer is settled first: its callbacks (writing an HTTP response)
  // run before any fork() the reconcile after this turn may do.
  #onAnswer(child: ChildWorker, job: Job, answer: Answer): void {
    this.#dispatcher.answered(job, answer);
    if (child.leaving) {
      // It served its share of tasks and leaves by itself.
      if (this.options.tasksPerChild > 1) this.#counters.children.recycled += 1;
    } else {
      const due = dueAfterAnswer(child, performance.now(), this.options.recycleMemoryMb, () => (child.pid === undefined ? undefined : this.#deps.readRssMb(child.pid)));
      if (due !== undefined) this.#fleet.retire(child, due);
    }
    this.#dispatcher.pump();
    if (child.leaving || this.#fleet.isRetiring(child) || this.#limitsCanBeDue || this.#state !== 'open') this.#scheduleReconcile();
    this.#settleClose();
  }

  #onExit(child: ChildWorker, exit: WorkerExit): void {
    this.#fleet.delete(child);
    if (child.pid !== undefined) this.#memory.forget(child.pid);
    this.#dispatcher.childExited(child, exit);
    this.#gate.childExited(exit.cause, performance.now(), exit.loadError);
    // The run that start was for fails as overload (503), not as a broken module.
    if (exit.cause === 'not-started') this.#dispatcher.failOldest(exit.startError);
    const broken = exit.cause === 'not-loaded' ? this.#unavailable() : undefined;
    if (broken !== undefined) {
      this.#dispatcher.failQueued(broken, 'failed');
      this.#waiters.rejectReady(broken);
    }
    this.#dispatcher.pump();
    this.#scheduleReconcile();
    this.#settleClose();
  }

  /** Children keep this process alive only while the pool has work, or a caller waits on ready(), close() or destroy(). */
  #updateHold(): void {
    const hold = this.#dispatcher.queued + this.#dispatcher.running > 0 || this.#waiters.waitingForReady || (this.#state !== 'open' && this.#fleet.size > 0);
    if (hold === this.#held) return;
    this.#held = hold;
    for (const child of this.#fleet) child.hold(hold);
  }

  #scheduleReconcile(): void {
    if (this.#reconcileQueued || this.#state === 'destroyed') return;
    this.#reconcileQueued = true;
    setImmediate(() => this.#reconcile());
  }

  /**
   * The one place where children start and leave. It runs in the turn after
   * a child answered, left or became ready (so a fork() never delays an
   * answer's callbacks), when a run finds no free child, and at the one
   * wake-up timer, set for the earliest moment any policy asked for.
   */
  #reconcile(): void {
    this.#reconcileQueued = false;
    if (this.#state === 'destroyed') return;
    const now = performance.now();
    if (this.#memory.due(now)) {
      for (const { child, exit, error } of this.#memory.decide(this.#fleet, (held) => this.#dispatcher.jobOf(held)?.task, now)) {
        carryOut(child, exit);
        if (error !== undefined) this.#dispatcher.jobOf(child)?.fail(error, 'failed');
        this.#counters.children.memoryKilled += 1;
      }
    }
    const retireAt = this.#retire(now);
    const start = this.#startWanted(now);
    // Read after the starts: a child started just now is sampled too.
    this.#wakeUp.set(Math.min(retireAt, start.retryAt, this.#memory.nextAt), start.forRun);
    this.#settleClose();
  }

  /** Leaving: children retired after an answer, and idle ones past their age or their idle time. Returns when to look again. */
  #retire(now: number): number {
    // Closing too: a child retired after its answer must make room for the replacement queued runs wait for.
    for (const [child, reason] of this.#fleet.takeRetired()) this.#leave(child, reason);
    if (!this.#limitsCanBeDue || this.#state !== 'open') return Infinity;
    const { minChildren, spares, idleTimeoutMs } = this.options;
    const idle = this.#fleet.idle();
    const decision = idleRetirement(idle, { live: this.#fleet.counts().live, minChildren, spares: this.#spares.wanted(now), sparesOption: spares, idleTimeoutMs }, now);
    for (const { child, reason } of decision.leave) this.#leave(child, reason);
    return decision.nextAt;
  }

  #leave(child: ChildWorker, reason: RecycleReason): void {
    carryOut(child, { how: 'stop' });
    this.#counters.children[reason === 'idle' ? 'shrunk' : 'recycled'] += 1;
  }

  /** Starting: up to minChildren live, the spares idle, a child for each waiting run; within maxChildren and the start gate. */
  #startWanted(now: number): { retryAt: number; forRun: boolean } {
    const { minChildren, maxChildren } = this.options;
    const open = this.#state === 'open';
    const plan = startPlan({
      counts: this.#fleet.counts(), queued: this.#dispatcher.queued, minChildren, maxChildren, open,
      spares: this.#spares.wanted(now), replaceAtOnce: this.#spares.replaceAtOnce(now), probe: open && this.#gate.loadError !== undefined,
    });
    for (let started = 0; started < plan.start; started += 1) {
      if (!this.#gate.tryStart(now, started < plan.forRuns)) return { retryAt: this.#gate.nextStartAt(now), forRun: plan.forRuns > 0 };
      this.#startChild();
    }
    return { retryAt: Infinity, forRun: false };
  }

  /** A run began or a child started: the memory cap samples within MEMORY_SAMPLE_MS. */
  #sampleSoon(): void {
    const at = this.#memory.soon(performance.now());
    if (at !== undefined && at < this.#wakeUp.at) this.#wakeUp.set(at, false);
  }

  // Once closing and nothing is left to run, idle children are ended
  // gracefully (teardown(), SIGKILL after the kill grace); the close promise
  // resolves when the last one has exited.
  #settleClose(): void {
    if (this.#state === 'open') return;
    if (this.#state === 'closing' && this.#dispatcher.queued === 0 && this.#dispatcher.running === 0) {
      for (const child of this.#fleet) if (!child.busy) carryOut(child, { how: 'stop' });
    }
    // Closing still starts the children its queued runs wait for: done only when none is left to run.
    if (this.#fleet.size === 0 && this.#dispatcher.queued === 0) {
      this.#wakeUp.clear();
      this.#waiters.resolveClosed();
      this.#release();
    }
  }
}
