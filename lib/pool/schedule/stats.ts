// What a pool counts: each run's outcome, each child's coming and going,
// and two latency histograms. The pool reports; it does not decide from these.
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import type { Outcome } from '../../trace/outcome.js';

export interface PoolStats {
  /** Tasks in a child right now: the ones running, and those sent ahead (prefetch). */
  running: number;
  /** Tasks waiting for a child (a ready one, or one that is starting). */
  queued: number;
  completed: number;
  failed: number;
  crashed: number;
  timedOut: number;
  /** Their deadline passed before a child could begin them. */
  expired: number;
  aborted: number;
  /** Refused because the queue was full. */
  rejected: number;
  /** Child processes alive, busy or not, starting or leaving. */
  children: number;
  /** Of those, ready and without a task. */
  idle: number;
  /** Idle children the pool keeps started now: the spares option, or more while tasks arrive faster than children start. */
  spares: number;
  /** Child processes started since the pool was made. */
  started: number;
  /** Children replaced after their share of tasks (tasksPerChild above 1), their age or their size (recycleMemoryMb). */
  recycled: number;
  /** Children that left after idleTimeoutMs without a task. */
  shrunk: number;
  /** Children killed for passing maxMemoryMb while they ran a task or started. */
  memoryKilled: number;
  /** Times the pool had to wait for the spawn budget (maxStartsPerSecond) before it could start a child. */
  startsDeferred: number;
  /** Spawner processes this server has started for the pool (0 when it forks directly): more than 1 means one died and was replaced. */
  spawnersStarted: number;
}

/** One child, as /stats shows it. */
export interface ChildInfo {
  pid: number | undefined;
  state: 'starting' | 'idle' | 'busy' | 'leaving';
  /** Tasks it has answered. */
  tasks: number;
  ageMs: number;
  /** Resident memory when last read, MiB. */
  rssMb: number | undefined;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  /** Sum of all the recorded times, for Prometheus' summaries. */
  sum: number;
}

export interface PoolLatency {
  queueWaitMs: LatencySummary;
  runMs: LatencySummary;
}

/** A child as /stats shows it, from what it says of itself and its last RSS. */
export function childInfo(child: { pid: number | undefined; leaving: boolean; ready: boolean; busy: boolean; served: number; startedAt: number }, now: number, rssMb: number | undefined): ChildInfo {
  const state = child.leaving ? 'leaving' : !child.ready ? 'starting' : child.busy ? 'busy' : 'idle';
  return { pid: child.pid, state, tasks: child.served, ageMs: Math.round(now - child.startedAt), rssMb: rssMb === undefined ? undefined : Math.round(rssMb * 10) / 10 };
}

type RunCounts = Record<Exclude<Outcome, 'closed'>, number>;

export interface ChildCounts {
  started: number;
  recycled: number;
  shrunk: number;
  memoryKilled: number;
}

// Recorded in whole microseconds (the histogram takes integers), at least 1.
const micros = (ms: number): number => Math.max(1, Math.round(ms * 1000));
const ms = (us: number): number => Math.round(us) / 1000;

function summarize(h: RecordableHistogram): LatencySummary {
  if (h.count === 0) return { count: 0, p50: 0, p99: 0, max: 0, sum: 0 };
  return { count: h.count, p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), sum: ms(h.mean * h.count) };
}

export class PoolCounters {
  readonly runs: RunCounts = { completed: 0, failed: 0, crashed: 0, timedOut: 0, expired: 0, aborted: 0, rejected: 0 };
  readonly children: ChildCounts = { started: 0, recycled: 0, shrunk: 0, memoryKilled: 0 };
  /** From run() to a ready child getting the task, and from then to the answer; microseconds. */
  readonly #queueWait = createHistogram();
  readonly #runTime = createHistogram();

  ended(outcome: Outcome): void {
    if (outcome !== 'closed') this.runs[outcome] += 1;
  }

  /** A ready child got a run that waited `waitedMs`. */
  started(waitedMs: number): void {
    this.#queueWait.record(micros(waitedMs));
  }

  /** A begun run ended (answer, failure or kill) after `ranMs`. */
  ran(ranMs: number): void {
    this.#runTime.record(micros(ranMs));
  }

  latency(): PoolLatency {
    return { queueWaitMs: summarize(this.#queueWait), runMs: summarize(this.#runTime) };
  }
}
