// When a child is replaced or let go: after its share of tasks (with jitter,
// so children started together do not all leave together, as gunicorn's
// max_requests_jitter), past an age, past a memory size, or idle too long
// beyond what the pool keeps. Pure decisions on plain data: the pool carries them out.

/** Up to this fraction of a limit is added to each child's own. */
const JITTER = 0.1;

export type RecycleReason = 'tasks' | 'age' | 'memory' | 'idle';

/** This child's task limit: tasksPerChild plus up to 10 % more, drawn with `random` (0 <= r < 1). */
export function taskLimit(tasksPerChild: number, random: () => number): number {
  if (tasksPerChild === Infinity) return Infinity;
  const spread = Math.floor(tasksPerChild * JITTER);
  return tasksPerChild + Math.floor(random() * (spread + 1));
}

/** This child's age limit: maxChildAgeMs plus up to 10 % more, so children started together are not replaced together. */
export function ageLimit(maxChildAgeMs: number, random: () => number): number {
  return maxChildAgeMs === Infinity ? Infinity : maxChildAgeMs * (1 + JITTER * random());
}

/** What the decisions need of a child. */
export interface ChildFacts {
  /** When it was started, and when it last became free for a task (ms, one monotonic clock). */
  readonly startedAt: number;
  readonly idleSince: number;
  /** Its own age limit (ageLimit() at its start). */
  readonly ageLimitMs: number;
}

/** After an answer: why this child should be replaced now, if it should ('age' first; `rssMb` only read when a size limit is set). */
export function dueAfterAnswer(child: ChildFacts, now: number, recycleMemoryMb: number, rssMb: () => number | undefined): 'age' | 'memory' | undefined {
  if (now - child.startedAt >= child.ageLimitMs) return 'age';
  if (recycleMemoryMb === Infinity) return undefined;
  const rss = rssMb();
  return rss !== undefined && rss > recycleMemoryMb ? 'memory' : undefined;
}

export interface Keep {
  /** Children alive and not leaving, and the fewest the pool keeps. */
  live: number;
  minChildren: number;
  /** Idle children the spares policy keeps now, and its option (the floor). */
  spares: number;
  sparesOption: number;
  idleTimeoutMs: number;
}

export interface IdleDecision<C> {
  leave: Array<{ child: C; reason: 'age' | 'idle' }>;
  /** When to look again (Infinity: never, until something changes). */
  nextAt: number;
}

/** Spares kept for a past arrival rate are looked at again this soon (the rate's time constant). */
const RATE_RECHECK_MS = 1000;

/**
 * Among idle children (ready, no task, not leaving): those past their age
 * leave; beyond minChildren and the spares, those idle for idleTimeoutMs leave,
 * longest idle first. Busy children are looked at after their answer.
 */
export function idleRetirement<C extends ChildFacts>(idle: readonly C[], keep: Keep, now: number): IdleDecision<C> {
  const leave: IdleDecision<C>['leave'] = [];
  let nextAt = Infinity;
  const young: C[] = [];
  for (const child of idle) {
    const oldAt = child.startedAt + child.ageLimitMs;
    if (now >= oldAt) leave.push({ child, reason: 'age' });
    else {
      nextAt = Math.min(nextAt, oldAt);
      young.push(child);
    }
  }
  if (keep.idleTimeoutMs === Infinity) return { leave, nextAt };
  let live = keep.live - leave.length;
  let spare = young.length;
  young.sort((a, b) => a.idleSince - b.idleSince);
  for (const child of young) {
    if (live <= keep.minChildren) break;
    if (spare <= keep.spares) {
      // Kept as spares the arrival rate calls for; that rate decays within seconds, so look again then.
      if (keep.spares > keep.sparesOption) nextAt = Math.min(nextAt, now + RATE_RECHECK_MS);
      break;
    }
    const dueAt = child.idleSince + keep.idleTimeoutMs;
    if (now < dueAt) {
      nextAt = Math.min(nextAt, dueAt);
      break;
    }
    leave.push({ child, reason: 'idle' });
    live -= 1;
    spare -= 1;
  }
  return { leave, nextAt };
}
