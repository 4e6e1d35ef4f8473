// One new child process per task; the child exits after its answer. To keep
// Node's start-up (~100 ms) off the request path, a few spare children are
// started ahead of demand; each still serves exactly one task.
import { Backoff } from './backoff.js';
import type { ChildWorker, WorkerExit } from './child-worker.js';
import { ChildExecutor } from './child-executor.js';
import { checkInteger, type CommonExecutorOptions, type ExecutorDeps } from './executor-options.js';

export interface ForkExecutorOptions extends CommonExecutorOptions {
  /** Children computing at once; more tasks wait in the queue. Default 4. */
  maxChildren?: number;
  /** Children started ahead of demand, within maxChildren. Default 1. */
  spares?: number;
}

export class ForkExecutor extends ChildExecutor {
  readonly maxChildren: number;
  readonly spares: number;
  readonly #idleSpares = new Set<ChildWorker>();
  readonly #backoff = new Backoff();
  #refillTimer: NodeJS.Timeout | undefined;

  constructor(options: ForkExecutorOptions, deps: Partial<ExecutorDeps> = {}) {
    super(options, deps);
    this.maxChildren = checkInteger('maxChildren', options.maxChildren ?? 4, 1);
    this.spares = checkInteger('spares', options.spares ?? 1, 0);
    this.#refill();
  }

  protected override takeWorker(): ChildWorker | undefined {
    // Spares are children too: the total never exceeds maxChildren.
    if (this.workers.size - this.#idleSpares.size >= this.maxChildren) return undefined;
    const worker = this.#takeSpare() ?? this.#startChild();
    // Fork the next spare after this turn, once the job has been sent.
    // EXPERIMENT setImmediate(() => this.#refill());
    return worker;
  }

  protected override onWorkerExit(worker: ChildWorker, exit: WorkerExit): void {
    const wasSpare = this.#idleSpares.delete(worker);
    if (wasSpare && !exit.wasKilled) {
      // A spare that died on its own (a broken tasks module): retry later, not in a loop.
      this.#scheduleRefill(this.#backoff.fail());
      return;
    }
    this.#refill();
  }

  protected override onShutdown(): void {
    clearTimeout(this.#refillTimer);
    this.#refillTimer = undefined;
  }

  #takeSpare(): ChildWorker | undefined {
    let starting: ChildWorker | undefined;
    for (const spare of this.#idleSpares) {
      if (spare.ready) {
        starting = spare;
        break;
      }
      starting ??= spare;
    }
    if (starting !== undefined) this.#idleSpares.delete(starting);
    return starting;
  }

  #startChild(): ChildWorker {
    const worker = this.spawn('once');
    worker.on('ready', () => {
      this.#backoff.reset();
    });
    // A `once` child exits after its answer; make sure it does.
    worker.on('done', () => worker.retire());
    return worker;
  }

  #refill(): void {
    if (!this.accepting || this.#refillTimer !== undefined) return;
    while (this.#idleSpares.size < this.spares && this.workers.size < this.maxChildren) {
      this.#idleSpares.add(this.#startChild());
    }
  }

  #scheduleRefill(delayMs: number): void {
    if (!this.accepting || this.#refillTimer !== undefined) return;
    this.#refillTimer = setTimeout(() => {
      this.#refillTimer = undefined;
      this.#refill();
    }, delayMs);
    this.#refillTimer.unref();
  }
}
