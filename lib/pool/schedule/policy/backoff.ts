// Delays restarts of children that die at start (a broken tasks module, a bad
// flag), so a pool never restarts more than a few children a second.
import { BACKOFF_DEFAULTS } from '../../../defaults.js';

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
}

export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  #failures = 0;

  constructor({ initialMs = BACKOFF_DEFAULTS.initialMs, maxMs = BACKOFF_DEFAULTS.maxMs }: BackoffOptions = {}) {
    this.#initialMs = initialMs;
    this.#maxMs = maxMs;
  }

  get failures(): number {
    return this.#failures;
  }

  /** Records a failure and returns how long to wait before the next attempt. */
  fail(): number {
    this.#failures += 1;
    return Math.min(this.#maxMs, this.#initialMs * 2 ** (this.#failures - 1));
  }

  reset(): void {
    this.#failures = 0;
  }
}
