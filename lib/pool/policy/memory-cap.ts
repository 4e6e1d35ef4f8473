// The hard memory cap (maxMemoryMb): RSS samples by pid, taken by the pool
// every MEMORY_SAMPLE_MS while children run tasks or start. It counts each
// child with every process it started (readTreeRssMb) and remembers the last
// sample, which /stats shows.

export interface OverCap {
  pid: number;
  rssMb: number;
}

export class MemoryCap {
  readonly #last = new Map<number, number>();

  constructor(
    readonly capMb: number,
    readonly readTreeRssMb: (pid: number) => number | undefined,
  ) {}

  get enabled(): boolean {
    return this.capMb !== Infinity;
  }

  /** Reads each pid now; returns those past the cap. */
  sample(pids: Iterable<number>): OverCap[] {
    const over: OverCap[] = [];
    for (const pid of pids) {
      const rssMb = this.readTreeRssMb(pid);
      if (rssMb === undefined) continue;
      this.#last.set(pid, rssMb);
      if (rssMb > this.capMb) over.push({ pid, rssMb });
    }
    return over;
  }

  /** The last sample of `pid`, if any. */
  last(pid: number): number | undefined {
    return this.#last.get(pid);
  }

  /** The child is gone. */
  forget(pid: number): void {
    this.#last.delete(pid);
  }
}
