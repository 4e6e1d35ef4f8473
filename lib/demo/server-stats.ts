// What /stats reports: requests by status, each pool's counters and the
// event loop's delay, the one number that shows whether fast requests wait.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { LoopPressureStats } from '../http/loop-pressure.js';
import type { ChildInfo, PoolLatency, PoolStats } from '../pool/child-pool.js';
import type { NamedQueueDepth } from './demo-pool.js';

export interface StatsSnapshot {
  uptimeSeconds: number;
  requests: Record<string, number>;
  pools: Record<string, PoolStats>;
  /** Per pool: queue wait and run time, p50/p99/max in ms. */
  latency?: Record<string, PoolLatency> | undefined;
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  /** Access-log lines written and dropped (dropped: the log's reader was too slow). */
  log?: { written: number; dropped: number; pending: number; pendingBytes: number } | undefined;
  /** Per pool: each child's pid, state, tasks answered, age and RSS. */
  children?: Record<string, ChildInfo[]> | undefined;
  /** With --max-loop-delay: whether slow requests are refused now, and how many were. */
  loadShedding?: LoopPressureStats | undefined;
  /** The orders database: building, ready, unavailable or closed, and its file. */
  orders?: { state: string; path: string } | undefined;
  /** With --queue-redis: the queue's depth (all hosts' jobs), read every few seconds; absent while Redis cannot be read. */
  queue?: NamedQueueDepth | undefined;
}

export interface SnapshotParts {
  pools: Record<string, PoolStats>;
  log?: StatsSnapshot['log'];
  latency?: StatsSnapshot['latency'];
  children?: StatsSnapshot['children'];
  loadShedding?: StatsSnapshot['loadShedding'];
  orders?: StatsSnapshot['orders'];
  queue?: StatsSnapshot['queue'];
}

/** The sampling interval, in ms: short enough to see a blocked loop, long enough to cost nothing. */
const RESOLUTION_MS = 10;

// Node's histogram records the time between samples, its own interval
// included (an idle loop shows ~10 ms): what is left after it is the delay.
const delayMs = (ns: number): number => Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 100) / 100);

export class ServerStats {
  readonly #started = process.uptime();
  readonly #byStatus = new Map<number, number>();
  readonly #loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });

  constructor() {
    this.#loopDelay.enable();
  }

  count(status: number): void {
    this.#byStatus.set(status, (this.#byStatus.get(status) ?? 0) + 1);
  }

  snapshot({ pools, log, latency, children, loadShedding, orders, queue }: SnapshotParts): StatsSnapshot {
    const h = this.#loopDelay;
    return {
      uptimeSeconds: Math.round((process.uptime() - this.#started) * 1000) / 1000,
      requests: Object.fromEntries([...this.#byStatus].sort(([a], [b]) => a - b).map(([status, n]) => [String(status), n])),
      pools,
      latency,
      eventLoopDelayMs: { p50: delayMs(h.percentile(50)), p99: delayMs(h.percentile(99)), max: delayMs(h.max) },
      log,
      loadShedding,
      orders,
      queue,
      children,
    };
  }

  stop(): void {
    this.#loopDelay.disable();
  }
}
