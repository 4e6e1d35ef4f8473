// A token bucket for child starts. Each start costs the parent a blocked
// loop in fork() and the machine a core for Node's start-up; a flood of
// requests that are opened and reset at once must not turn into a flood of
// starts. Starts beyond the budget wait (their tasks stay queued) until a
// token comes back.

export class SpawnBudget {
  readonly #perSecond: number;
  /** A second's worth, but at least one start, so that a rate below 1/s still starts children. */
  readonly #capacity: number;
  #tokens: number;
  #at: number;

  /** `perSecond` starts a second, up to one second's worth (at least one) at once; Infinity for no limit. */
  constructor(perSecond: number, now: number) {
    this.#perSecond = perSecond;
    this.#capacity = Math.max(1, perSecond);
    this.#tokens = this.#capacity;
    this.#at = now;
  }

  /** Takes a token if one is there. */
  take(now: number): boolean {
    if (this.#perSecond === Infinity) return true;
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** ms until the next token, 0 if one is there now. */
  waitMs(now: number): number {
    if (this.#perSecond === Infinity) return 0;
    this.#refill(now);
    return this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) * 1000) / this.#perSecond);
  }

  #refill(now: number): void {
    this.#tokens = Math.min(this.#capacity, this.#tokens + ((now - this.#at) * this.#perSecond) / 1000);
    this.#at = now;
  }
}
