// What both executors share: the bounded queue, the job lifecycle, the
// counters and the close/destroy protocol. A subclass decides only which
// child takes a job (`takeWorker`) and what happens when a child exits.
import { ChildWorker, type WorkerExit } from './child-worker.js';
import { ExecutorClosedError, QueueFullError } from './errors.js';
import type { Executor, ExecutorStats, RunOptions } from './executor.js';
import { defaultDeps, resolveCommonOptions, type CommonExecutorOptions, type ExecutorDeps, type ResolvedCommonOptions } from './executor-options.js';
import { Job, type Outcome } from './job.js';
import type { ChildMode } from './protocol.js';
import { TaskQueue } from './task-queue.js';

type Counts = Record<Exclude<Outcome, 'closed'>, number>;

export abstract class ChildExecutor implements Executor {
  protected readonly options: ResolvedCommonOptions;
  protected readonly deps: ExecutorDeps;
  protected readonly queue: TaskQueue<Job>;
  /** Every child alive, whatever it is doing. */
  protected readonly workers = new Set<ChildWorker>();
  readonly #running = new Map<Job, ChildWorker>();
  readonly #counts: Counts = { completed: 0, failed: 0, crashed: 0, timedOut: 0, aborted: 0, rejected: 0 };
  #state: 'open' | 'closing' | 'destroyed' = 'open';
  #whenAllExited: Promise<void> | undefined;
  #allExited: (() => void) | undefined;

  constructor(options: CommonExecutorOptions, deps: Partial<ExecutorDeps> = {}) {
    this.options = resolveCommonOptions(options);
    this.deps = { ...defaultDeps, ...deps };
    this.queue = new TaskQueue(this.options.maxQueue);
  }

  /** A child that can take a job now, or undefined when every allowed child is busy. */
  protected abstract takeWorker(): ChildWorker | undefined;

  /** A child is gone; the subclass replaces it if it should. */
  protected abstract onWorkerExit(worker: ChildWorker, exit: WorkerExit): void;

  /** Why runs cannot start at all right now (a tasks module that does not load), if so. */
  protected unavailable(): Error | undefined {
    return undefined;
  }

  /** Cancels anything the subclass has scheduled (restarts); called once, on close or destroy. */
  protected onShutdown(): void {}

  protected get accepting(): boolean {
    return this.#state === 'open';
  }

  run<T = unknown>(task: string, args: readonly unknown[] = [], options: RunOptions = {}): Promise<T> {
    if (typeof task !== 'string' || task === '') return Promise.reject(new TypeError('task must be the name of an export of the tasks module'));
    if (!Array.isArray(args)) return Promise.reject(new TypeError('args must be an array of the task\'s arguments'));
    if (this.#state !== 'open') return Promise.reject(new ExecutorClosedError());
    const { signal } = options;
    if (signal?.aborted) {
      this.#counts.aborted += 1;
      return Promise.reject(signal.reason);
    }
    const job = new Job({
      task,
      args,
      timeoutMs: options.timeoutMs ?? this.options.timeoutMs,
      signal,
      onEnd: (ended, outcome) => this.#onJobEnd(ended, outcome),
      onCancel: (cancelled) => this.#onJobCancel(cancelled),
    });
    const broken = this.unavailable();
    if (broken !== undefined) job.fail(broken, 'failed');
    else if (this.queue.size > 0 || !this.#tryStart(job)) {
      if (this.queue.full) job.fail(new QueueFullError(task, this.options.maxQueue), 'rejected');
      else this.queue.push(job);
    }
    return job.promise as Promise<T>;
  }

  stats(): ExecutorStats {
    return { running: this.#running.size, queued: this.queue.size, ...this.#counts, children: this.workers.size };
  }

  close(): Promise<void> {
    if (this.#state === 'open') {
      this.#state = 'closing';
      this.onShutdown();
    }
    const done = this.#whenExited();
    this.#settleClose();
    return done;
  }

  destroy(): Promise<void> {
    if (this.#state !== 'destroyed') {
      if (this.#state === 'open') this.onShutdown();
      this.#state = 'destroyed';
      for (const job of this.queue.drain()) job.fail(new ExecutorClosedError('executor was destroyed before the task started'), 'closed');
      for (const job of [...this.#running.keys()]) job.fail(new ExecutorClosedError('executor was destroyed while the task ran'), 'closed');
      for (const worker of this.workers) worker.kill('SIGKILL');
    }
    const done = this.#whenExited();
    this.#settleClose();
    return done;
  }

  /** Starts a child and wires its events; the subclass keeps track of what it is for. */
  protected spawn(mode: ChildMode): ChildWorker {
    const { tasksUrl, execArgv, niceness, killGraceMs } = this.options;
    const worker = new ChildWorker({ entry: this.deps.entry, tasksUrl, mode, execArgv, niceness, killGraceMs }, this.deps);
    this.workers.add(worker);
    worker.on('exit', (exit) => {
      this.workers.delete(worker);
      this.onWorkerExit(worker, exit);
      this.pump();
    });
    return worker;
  }

  /** Moves queued jobs to children while there are children to take them. */
  protected pump(): void {
    for (let job = this.queue.peek(); job !== undefined; job = this.queue.peek()) {
      const broken = this.unavailable();
      if (broken !== undefined) {
        for (const waiting of this.queue.drain()) waiting.fail(broken, 'failed');
        break;
      }
      if (!this.#tryStart(job)) break;
      this.queue.remove(job);
    }
    this.#settleClose();
  }

  #tryStart(job: Job): boolean {
    const worker = this.takeWorker();
    if (worker === undefined) return false;
    this.#running.set(job, worker);
    worker.run(job);
    return true;
  }

  #onJobEnd(job: Job, outcome: Outcome): void {
    this.#running.delete(job);
    this.queue.remove(job);
    if (outcome !== 'closed') this.#counts[outcome] += 1;
  }

  #onJobCancel(job: Job): void {
    if (!this.queue.remove(job)) this.#running.get(job)?.kill();
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
    if (this.queue.size === 0 && this.#running.size === 0) {
      for (const worker of this.workers) if (!worker.busy) worker.kill();
    }
    if (this.workers.size === 0) this.#allExited?.();
  }
}
