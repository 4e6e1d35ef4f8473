// What /stats reports: requests by status, each pool's counters and the
// event loop's delay, the one number that shows whether fast requests wait.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { PoolStats } from '../pool/child-pool.js';

export interface StatsSnapshot {
  uptimeSeconds: number;
  requests: Record<string, number>;
  pools: Record<string, PoolStats>;
  eventLoopDelayMs: { p50: number; p99: number; max: number };
}

const msFromNs = (ns: number): number => Math.round(ns / 1e4) / 100;

export class ServerStats {
  readonly #started = process.uptime();
  readonly #byStatus = new Map<number, number>();
  readonly #loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });

  constructor() {
    this.#loopDelay.enable();
  }

  count(status: number): void {
    this.#byStatus.set(status, (this.#byStatus.get(status) ?? 0) + 1);
  }

  snapshot(pools: Record<string, PoolStats>): StatsSnapshot {
    const h = this.#loopDelay;
    return {
      uptimeSeconds: Math.round((process.uptime() - this.#started) * 1000) / 1000,
      requests: Object.fromEntries([...this.#byStatus].sort(([a], [b]) => a - b).map(([status, n]) => [String(status), n])),
      pools,
      eventLoopDelayMs: { p50: msFromNs(h.percentile(50)), p99: msFromNs(h.percentile(99)), max: msFromNs(h.max) },
    };
  }

  stop(): void {
    this.#loopDelay.disable();
  }
}
