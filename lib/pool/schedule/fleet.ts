// The pool's children, and the one place where each count is defined.
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

  add(child: ChildWorker): void {
    this.#children.add(child);
  }

  delete(child: ChildWorker): void {
    this.#children.delete(child);
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

  /** The first free child that `accept` takes (children free longest come first: a Set keeps insertion order). */
  free(accept: (child: ChildWorker) => boolean): ChildWorker | undefined {
    for (const child of this.#children) if (child.free && accept(child)) return child;
    return undefined;
  }

  /** Ready children with no run, not leaving. */
  idle(): ChildWorker[] {
    return [...this.#children].filter((child) => child.free);
  }
}
