// When a child is replaced by a fresh one: after its share of tasks (with
// jitter, so children started together do not all leave together, as
// gunicorn's max_requests_jitter), past an age, or past a memory size.

/** Up to this fraction of tasksPerChild is added to each child's own limit. */
const JITTER = 0.1;

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

export type RecycleReason = 'tasks' | 'age' | 'memory' | 'idle';
