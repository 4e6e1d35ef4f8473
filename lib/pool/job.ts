// One call to run(): its promise, its timeout and its abort signal. A job
// settles exactly once; whatever comes after (a late answer, the child's
// death after a kill) is ignored.
import { TaskTimeoutError } from './errors.js';

export type Outcome = 'completed' | 'failed' | 'crashed' | 'timedOut' | 'aborted' | 'rejected' | 'closed';

export interface JobInit {
  task: string;
  args: readonly unknown[];
  /** ms from the moment a ready child gets the task; Infinity for none. */
  timeoutMs: number;
  signal: AbortSignal | undefined;
  /** Called once, when the job settles, to count it. */
  onEnd: (job: Job, outcome: Outcome) => void;
  /** Called after a timeout or an abort: take the job out of the queue or kill its child. */
  onCancel: (job: Job) => void;
}

let nextId = 1;

export class Job {
  readonly id = nextId++;
  readonly task: string;
  readonly args: readonly unknown[];
  readonly promise: Promise<unknown>;
  #resolve!: (value: unknown) => void;
  #reject!: (reason: unknown) => void;
  readonly #init: JobInit;
  #timer: NodeJS.Timeout | undefined;
  #settled = false;
  readonly #onAbort = (): void => this.#cancel(this.#init.signal?.reason, 'aborted');

  constructor(init: JobInit) {
    this.#init = init;
    this.task = init.task;
    this.args = init.args;
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    init.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** A ready child has the task: its timeout starts now, not while it waited for a child or for one to start. */
  start(): void {
    const { timeoutMs } = this.#init;
    if (this.#settled || timeoutMs === Infinity || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => this.#cancel(new TaskTimeoutError(this.task, timeoutMs), 'timedOut'), timeoutMs);
  }

  resolve(value: unknown): void {
    if (this.#end('completed')) this.#resolve(value);
  }

  fail(error: unknown, outcome: Exclude<Outcome, 'completed'>): void {
    if (this.#end(outcome)) this.#reject(error);
  }

  #cancel(reason: unknown, outcome: 'aborted' | 'timedOut'): void {
    if (this.#settled) return;
    // Cancel first, while the executor still knows where the job is.
    this.#init.onCancel(this);
    this.fail(reason, outcome);
  }

  #end(outcome: Outcome): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    clearTimeout(this.#timer);
    this.#init.signal?.removeEventListener('abort', this.#onAbort);
    this.#init.onEnd(this, outcome);
    return true;
  }
}
