// How many idle children the pool keeps started ahead of demand: the
// `spares` option, raised to the tasks expected during one child's start-up
// while they arrive faster than children start (Demand); none if the option is 0.
import { Demand } from './demand.js';

export class Spares {
  readonly #demand = new Demand();

  constructor(readonly option: number, readonly maxChildren: number) {}

  arrived(now: number): void {
    this.#demand.arrived(now);
  }

  /** A child took `ms` from fork() to ready. */
  childStarted(ms: number): void {
    this.#demand.childStarted(ms);
  }

  /** Idle (or starting) children to keep now. */
  wanted(now: number): number {
    if (this.option === 0) return 0;
    return Math.min(this.maxChildren, Math.max(this.option, this.#demand.spares(now)));
  }

  /**
   * A taken spare is replaced at once only while the arrival rate calls for
   * spares; at a low rate its replacement waits for the answer, so that a
   * start-up does not compete with the task for the CPU.
   */
  replaceAtOnce(now: number): boolean {
    return this.option > 0 && this.#demand.spares(now) > 0;
  }
}
