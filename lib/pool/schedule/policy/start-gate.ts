// Whether a child may start now. Three reasons say no: the spawn budget
// (a flood of resets must not become a flood of forks), the back-off after a
// child died by itself (a broken module must not make the pool fork in a
// loop), and the load-error latch (while the tasks module cannot load and no
// child is ready, runs fail at once instead of each starting a doomed child).
import type { ExitCause } from '../worker.js';
import type { TaskLoadError } from '../../errors.js';
import { Backoff } from './backoff.js';
import { SpawnBudget } from './spawn-budget.js';

export class StartGate {
  readonly #budget: SpawnBudget;
  readonly #backoff = new Backoff();
  /** No start before this moment (a back-off after a failed start). */
  #restartAt = -Infinity;
  #loadError: TaskLoadError | undefined;
  /** A start is waiting for a token: counted once per wait, not per look. */
  #waiting = false;
  #deferred = 0;

  constructor(perSecond: number, now: number) {
    this.#budget = new SpawnBudget(perSecond, now);
  }

  /** Why the last child could not load; cleared when one becomes ready. */
  get loadError(): TaskLoadError | undefined {
    return this.#loadError;
  }

  /** Times a start had to wait for the spawn budget. */
  get deferred(): number {
    return this.#deferred;
  }

  /**
   * Takes a start (a budget token) if nothing says no. The back-off holds
   * back the children the pool keeps; a start for a waiting run waits it out
   * only while the tasks module is known not to load.
   */
  tryStart(now: number, forRun: boolean): boolean {
    if (now < this.#restartAt && !(forRun && this.#loadError === undefined)) return false;
    if (!this.#budget.take(now)) {
      if (!this.#waiting) this.#deferred += 1;
      this.#waiting = true;
      return false;
    }
    this.#waiting = false;
    return true;
  }

  /** When a start refused now can be tried again. */
  nextStartAt(now: number): number {
    return Math.max(this.#restartAt, now + this.#budget.waitMs(now));
  }

  /** A child died by itself outside any run (at start, or idle): the next start waits out one more back-off step. */
  childFailed(now: number, loadError?: TaskLoadError): void {
    this.#restartAt = now + this.#backoff.fail();
    if (loadError !== undefined) this.#loadError = loadError;
  }

  /** A child's exit: one that died by itself, not of a task, makes the next start wait out a back-off step. */
  childExited(cause: ExitCause, now: number, loadError: TaskLoadError | undefined): void {
    if (cause === 'not-loaded') this.childFailed(now, loadError);
    else if (cause === 'not-started' || cause === 'died-idle') this.childFailed(now);
  }

  /** A child is ready: the module loads, whatever failed before. */
  childReady(): void {
    this.#loadError = undefined;
    this.#backoff.reset();
    this.#restartAt = -Infinity;
  }
}
