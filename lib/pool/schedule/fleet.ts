// The pool's children, the ones retiring, and the one place where each count is defined.
import type { RecycleReason } from './policy/retirement.js';
import type { ChildWorker } from './worker.js';

export interface FleetCounts {
  /** Every process not yet exited, leaving ones included: what maxChildren bounds. */
  alive: number;
  /** Alive and not leaving: what minChildren keeps. */
  live: number;
  /** Live and not ready yet: each takes a waiting run once it is. */
  starting: number;
  /** Live and ready, busy or not: while one exists, the tasks module loads (ready() and the load-error latch use it). */
  ready: number;
  /** Ready with no run: free now. The spares are kept among these and the starting ones. */
  idle: number;
}

export class Fleet implements Iterable<ChildWorker> {
  readonly #children = new Set<ChildWorker>();
  /** Let go by the retirement policy after an answer: never picked again, stopped once idle. */
  readonly #retiring = new Map<ChildWorker, RecycleReason>();

  add(child: ChildWorker): void {
    this.#children.add(child);
  }

  delete(child: ChildWorker): void {
    this.#children.delete(child);
    this.#retiring.delete(child);
  }

  retire(child: ChildWorker, reason: RecycleReason): void {
    this.#retiring.set(child, reason);
  }

  isRetiring(child: ChildWorker): boolean {
    return this.#retiring.has(child);
  }

  /** The retiring children that are idle now, each handed out once, to be stopped. */
  takeRetired(): Array<[ChildWorker, RecycleReason]> {
    const idle = [...this.#retiring].filter(([child]) => !child.busy);
    for (const [child] of idle) this.#retiring.delete(child);
    return idle;
  }

  get size(): number {
    return this.#children.size;
  }

  [Symbol.iterator](): Iterator<ChildWorker> {
    return this.#children.values();
  }

  counts(): FleetCounts {
    const counts: FleetCounts = { alive: this.#children.size, live: 0, starting: 0, ready: 0, idle: 0 };
    for (const child of this.#children) {
      if (child.leaving) continue;
      counts.live += 1;
      if (!child.ready) counts.starting += 1;
      else {
        counts.ready += 1;
        if (!child.busy) counts.idle += 1;
      }
    }
    return counts;
  }

  /**
   * The child for the next run, never a retiring one: the first free child
   * (free longest: a Set keeps insertion order); else, for a plain run and a
   * pool with prefetch, the busy child holding the fewest runs with room left.
   */
  pick(stream: boolean): ChildWorker | undefined {
    let fewest: ChildWorker | undefined;
    for (const child of this.#children) {
      if (this.#retiring.has(child)) continue;
      if (child.free) return child;
      if (child.canTake(stream) && (fewest === undefined || child.held < fewest.held)) fewest = child;
    }
    return fewest;
  }

  /** Ready children with no run, neither leaving nor retiring. */
  idle(): ChildWorker[] {
    return [...this.#children].filter((child) => child.free && !this.#retiring.has(child));
  }
}
