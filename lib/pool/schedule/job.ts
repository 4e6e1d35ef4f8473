// One call to run() on its way: the Run it carries, its promise, and its
// timers, set by the rules every runner shares (run-timing.ts: the deadline
// runs from the call, the timeout from the moment a ready child gets it). A job settles exactly once; whatever comes
// after (a late answer, the child's death after a kill) is ignored.
import type { RunTrace } from '../../trace/run-trace.js';
import { firstLimit, pastDeadline } from '../run-timing.js';
import type { Run } from '../run-options.js';
import type { Outcome } from '../../trace/outcome.js';

export interface JobHooks {
  /** Called once, when the job settles, to count it. */
  onEnd: (job: Job, outcome: Outcome) => void;
  /** Called after a timeout, deadline or abort: take the job out of the queue or away from its child. */
  onCancel: (job: Job) => void;
  /** Called once, when a ready child gets the job. */
  onStart?: (job: Job) => void;
  /** Its span and diagnostics events, when anything records them. */
  trace?: RunTrace | undefined;
}

let nextId = 1;

export class Job {
  readonly id = nextId++;
  readonly run: Run;
  readonly trace: RunTrace | undefined;
  readonly promise: Promise<unknown>;
  #resolve!: (value: unknown) => void;
  #reject!: (reason: unknown) => void;
  readonly #hooks: JobHooks;
  readonly #deadlineAt: number;
  /** performance.now() when run() was called, and when a ready child got the job (0 until then). */
  readonly createdAt = performance.now();
  startedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #timeUpCheck: NodeJS.Immediate | undefined;
  #started = false;
  #settled = false;

  constructor(run: Run, hooks: JobHooks) {
    this.run = run;
    this.#hooks = hooks;
    this.trace = hooks.trace;
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    const { deadlineMs } = run;
    this.#deadlineAt = this.createdAt + deadlineMs;
    if (deadlineMs !== Infinity) {
      // Until a child has it, the deadline is the only clock running.
      this.#timer = setTimeout(() => this.#cancel(pastDeadline(run, false), 'expired'), deadlineMs);
    }
  }

  get task(): string {
    return this.run.task;
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** A ready child has it (it may be running). */
  get started(): boolean {
    return this.#started;
  }

  /** A ready child has the task: its timeout starts now, not while it waited for a child or for one to start. */
  start(): void {
    if (this.#settled || this.#started) return;
    this.#started = true;
    this.startedAt = performance.now();
    this.#hooks.onStart?.(this);
    this.#clearTimer();
    const limit = firstLimit(this.run, this.#deadlineAt - this.startedAt);
    if (limit !== undefined) this.#timer = setTimeout(() => this.#timeUp(limit.error), limit.afterMs);
  }

  // After a stall of this loop longer than the timeout (an inline /slow, a
  // SIGSTOP), timers run before the I/O that arrived meanwhile: the answer may
  // be waiting in the pipe. setImmediate runs after this turn's poll has read
  // it, so an answer that came in time wins, and a healthy child is not killed.
  #timeUp(error: Error): void {
    this.#timer = undefined;
    this.#timeUpCheck = setImmediate(() => this.#cancel(error, 'timedOut'));
  }

  /** Expires the job (DeadlineError) if its deadline has passed before any child began it. */
  expireIfLate(): boolean {
    if (this.#settled || this.#started || performance.now() < this.#deadlineAt) return false;
    this.#cancel(pastDeadline(this.run, false), 'expired');
    return true;
  }

  /** The caller's signal fired: out of the queue, or its child is killed. */
  abort(reason: unknown): void {
    this.#cancel(reason, 'aborted');
  }

  resolve(value: unknown): void {
    if (this.#end('completed', undefined)) this.#resolve(value);
  }

  fail(error: unknown, outcome: Exclude<Outcome, 'completed'>): void {
    if (this.#end(outcome, error)) this.#reject(error);
  }

  #cancel(reason: unknown, outcome: 'aborted' | 'timedOut' | 'expired'): void {
    if (this.#settled) return;
    // Cancel first, while the pool still knows where the job is.
    this.#hooks.onCancel(this);
    this.fail(reason, outcome);
  }

  #clearTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    clearImmediate(this.#timeUpCheck);
    this.#timeUpCheck = undefined;
  }

  #end(outcome: Outcome, error: unknown): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.#clearTimer();
    this.#hooks.onEnd(this, outcome);
    // Ended before the caller hears: its span is complete when its await returns.
    this.trace?.end(outcome, error, (this.#started ? this.startedAt : performance.now()) - this.createdAt);
    return true;
  }
}
