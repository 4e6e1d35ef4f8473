// How many spare children the arrival rate calls for: the tasks expected to
// arrive while one child starts. A burst then finds children already
// starting instead of paying Node's start-up once per task, in series.
// The rate is an exponentially decaying count (no timer, no array of
// timestamps): each arrival adds 1/tau, and the sum decays with time constant
// tau, so it reads as arrivals per ms over roughly the last tau.

/** Time constant of the rate: about the last second of arrivals counts. */
const RATE_TAU_MS = 1000;
/** Weight of the newest start-up time in the running average. */
const START_WEIGHT = 0.3;
/** Expected arrivals per start-up below this many ask for no spare beyond the option. */
const SPARE_SLACK = 0.25;
/** Below this rate (about one arrival in the last tau) there is no stream to keep up with, whatever a start-up costs on a busy machine. */
const MIN_RATE = 1.5 / RATE_TAU_MS;

export class Demand {
  #rate = 0;
  #at = 0;
  #startMs = 0;

  /** A task arrived at `now` (ms, any monotonic clock). */
  arrived(now: number): void {
    this.#rate = this.rate(now) + 1 / RATE_TAU_MS;
    this.#at = now;
  }

  /** A child took `ms` from fork() to ready. */
  childStarted(ms: number): void {
    this.#startMs = this.#startMs === 0 ? ms : this.#startMs + START_WEIGHT * (ms - this.#startMs);
  }

  /** Arrivals per ms around `now`. */
  rate(now: number): number {
    return this.#rate * Math.exp(-Math.max(0, now - this.#at) / RATE_TAU_MS);
  }

  /**
   * Tasks expected to arrive during one child's start-up, rounded up: the
   * spares that hide it. A lone arrival asks for none, and less a quarter
   * so that a slow trickle (a small fraction of a task per start-up) does not either.
   */
  spares(now: number): number {
    const rate = this.rate(now);
    if (rate < MIN_RATE) return 0;
    return Math.max(0, Math.ceil(rate * this.#startMs - SPARE_SLACK));
  }
}
