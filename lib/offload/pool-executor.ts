// A fixed set of warm children, each running one task at a time, fed from a
// FIFO queue: Python's ProcessPoolExecutor for Node. A child that dies is
// replaced; one that dies before it is ready is replaced after a back-off.
import { availableParallelism } from 'node:os';
import { Backoff } from './backoff.js';
import type { ChildWorker, WorkerExit } from './child-worker.js';
import { ChildExecutor } from './child-executor.js';
import { checkInteger, type CommonExecutorOptions, type ExecutorDeps } from './executor-options.js';

export interface PoolExecutorOptions extends CommonExecutorOptions {
  /** Warm children. Default: os.availableParallelism(). */
  size?: number;
}

export class PoolExecutor extends ChildExecutor {
  readonly size: number;
  readonly #backoff = new Backoff();
  #restartTimer: NodeJS.Timeout | undefined;
  #pendingRestarts = 0;
  /** Why the last child could not start; cleared when one becomes ready. */
  #startError: Error | undefined;

  constructor(options: PoolExecutorOptions, deps: Partial<ExecutorDeps> = {}) {
    super(options, deps);
    this.size = checkInteger('size', options.size ?? availableParallelism(), 1);
    for (let i = 0; i < this.size; i += 1) this.#startChild();
  }

  protected override takeWorker(): ChildWorker | undefined {
    let starting: ChildWorker | undefined;
    for (const worker of this.workers) {
      if (worker.busy) continue;
      if (worker.ready) return worker;
      starting ??= worker;
    }
    // A starting child takes the job and sends it the moment it is ready.
    return starting;
  }

  protected override unavailable(): Error | undefined {
    if (this.#startError === undefined) return undefined;
    for (const worker of this.workers) if (worker.ready) return undefined;
    return this.#startError;
  }

  protected override onWorkerExit(_worker: ChildWorker, exit: WorkerExit): void {
    if (!this.accepting && this.queue.size === 0) return;
    const diedOnItsOwn = !exit.wasKilled && !exit.hadJob;
    if (!diedOnItsOwn) {
      // Killed for a timeout or an abort, or crashed by its task: replace it now.
      this.#startChild();
      return;
    }
    if (!exit.wasReady) this.#startError = exit.loadError;
    this.#pendingRestarts += 1;
    if (this.#restartTimer === undefined) {
      this.#restartTimer = setTimeout(() => this.#restart(), this.#backoff.fail());
      this.#restartTimer.unref();
    }
  }

  protected override onShutdown(): void {
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    this.#pendingRestarts = 0;
  }

  #restart(): void {
    this.#restartTimer = undefined;
    const count = this.#pendingRestarts;
    this.#pendingRestarts = 0;
    for (let i = 0; i < count; i += 1) this.#startChild();
  }

  #startChild(): void {
    const worker = this.spawn('pool');
    worker.on('ready', () => {
      this.#startError = undefined;
      this.#backoff.reset();
      this.pump();
    });
    worker.on('done', () => this.pump());
  }
}
