// The hard memory cap (maxMemoryMb): RSS samples by pid, taken by the pool
// every MEMORY_SAMPLE_MS while children run tasks or start, and not at all
// otherwise. It counts each child with the processes it started
// (readTreeRssMb) and remembers the last sample, which /stats shows.
import { MEMORY_SAMPLE_MS } from '../../../defaults.js';
import { TaskMemoryError } from '../../errors.js';
import type { Exit } from '../exits.js';

export interface OverCap {
  pid: number;
  rssMb: number;
}

/** What the cap needs of a child. */
export interface Watchable {
  readonly pid: number | undefined;
  readonly ready: boolean;
  readonly leaving: boolean;
}

export class MemoryCap {
  readonly #last = new Map<number, number>();
  /** When the next sample is due; -Infinity while nothing is watched. */
  #nextAt = -Infinity;

  constructor(
    readonly capMb: number,
    readonly readTreeRssMb: (pid: number) => number | undefined,
  ) {}

  get enabled(): boolean {
    return this.capMb !== Infinity;
  }

  /** When the pool should sample next (Infinity: not until a run begins or a child starts). */
  get nextAt(): number {
    return this.#nextAt === -Infinity ? Infinity : this.#nextAt;
  }

  /** A run began or a child started: sample within MEMORY_SAMPLE_MS. Returns when, if that is new. */
  soon(now: number): number | undefined {
    if (!this.enabled || this.#nextAt !== -Infinity) return undefined;
    this.#nextAt = now + MEMORY_SAMPLE_MS;
    return this.#nextAt;
  }

  due(now: number): boolean {
    return this.enabled && this.#nextAt !== -Infinity && now >= this.#nextAt;
  }

  /**
   * Samples the children that start (their setup() counts) or run a task
   * (`running`), and returns those past the cap; with none to watch, sampling stops.
   */
  check<C extends Watchable>(children: Iterable<C>, running: (child: C) => boolean, now: number): Array<{ child: C; rssMb: number }> {
    const watched = new Map<number, C>();
    // A child the spawner is still starting has no pid yet: it is watched from
    // the next sample on, so sampling must not stop for want of one (a busy
    // spawner can take longer than a sample period to report it).
    let pidToCome = false;
    for (const child of children) {
      if (child.leaving || (child.ready && !running(child))) continue;
      if (child.pid === undefined) pidToCome = true;
      else watched.set(child.pid, child);
    }
    this.#nextAt = watched.size === 0 && !pidToCome ? -Infinity : now + MEMORY_SAMPLE_MS;
    return this.sample(watched.keys()).map(({ pid, rssMb }) => ({ child: watched.get(pid)!, rssMb }));
  }

  /**
   * Samples (check()) and decides, for the pool to carry out: a child still
   * starting fails its start (a load error); a busy one is SIGKILLed (its
   * own loop may be stuck in the allocation) and its run fails with the
   * TaskMemoryError returned. `taskOf` names the run a child holds.
   */
  decide<C extends Watchable>(children: Iterable<C>, taskOf: (child: C) => string | undefined, now: number): Array<{ child: C; exit: Exit; error: TaskMemoryError | undefined }> {
    return this.check(children, (child) => taskOf(child) !== undefined, now).map(({ child, rssMb }) => {
      const task = taskOf(child);
      const exit: Exit = child.ready ? { how: 'kill', signal: 'SIGKILL' } : { how: 'fail-start', reason: `its setup() passed the memory cap of ${this.capMb} MiB (${Math.round(rssMb)} MiB)` };
      return { child, exit, error: task === undefined ? undefined : new TaskMemoryError(task, this.capMb, rssMb) };
    });
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
