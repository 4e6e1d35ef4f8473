// The side-by-side comparison: bare node:http, piscina, workerpool (process
// mode) and slowlane's two lanes behind the same node:http contract, measured
// in one run on this machine, so every ratio in the README can be checked.
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { cpuTicks } from '../tools/proc.js';
import { burst, fastLoad, keepSlowInFlight, sequential } from './load.js';
import { round, summarize } from './numbers.js';
import type { Running } from './processes.js';

const CORES = availableParallelism();
/** Linux reports CPU time in ticks of 10 ms (USER_HZ 100). */
const TICK_US = 10_000;

export interface Lane {
  name: string;
  server: Running;
  /** The offloaded route, if this lane has one. */
  slow?: string;
}

export interface FastFigures {
  rps: number;
  p99: number;
  cpuUsPerRequest: number;
}

export interface LaneFigures {
  fast?: FastFigures;
  fastQuiet?: FastFigures;
  /** The same /fast load from wrk -t1 -c32 (undefined without wrk). */
  wrk?: FastFigures | undefined;
  wrkQuiet?: FastFigures | undefined;
  idleMax?: number;
  offloadP50?: number;
  speedup?: Speedup;
  loadedP99Ratio?: number;
}

const median = (values: readonly number[]): number => summarize(values).p50;

/** One /fast round: req/s and p99 from the load generator, server CPU from /proc. */
async function fastRound(server: Running, seconds: number, connections: number): Promise<FastFigures> {
  const before = cpuTicks(server.pid);
  const load = await fastLoad(server.url, seconds, connections);
  const ticks = cpuTicks(server.pid) - before;
  const requests = load.samples.length;
  return { rps: load.requestsPerSecond, p99: summarize(load.samples.map((s) => s.latency)).p99, cpuUsPerRequest: (ticks * TICK_US) / requests };
}

/** Rounds over every server, rotating which goes first (the load generator warms up and shares the cores); medians. */
export async function fastThroughput(servers: readonly Running[], rounds: number, seconds: number, connections = 32): Promise<FastFigures[]> {
  for (const server of servers) await fastLoad(server.url, 1, connections); // warm-up, discarded
  const runs: FastFigures[][] = servers.map(() => []);
  for (let r = 0; r < rounds; r += 1) {
    for (let i = 0; i < servers.length; i += 1) {
      const at = (i + r) % servers.length;
      runs[at]!.push(await fastRound(servers[at]!, seconds, connections));
    }
  }
  return runs.map((list) => ({
    rps: Math.round(median(list.map((f) => f.rps))),
    p99: round(median(list.map((f) => f.p99))),
    cpuUsPerRequest: round(median(list.map((f) => f.cpuUsPerRequest)), 1),
  }));
}

/** The slowest of `count` /fast requests sent one at a time on one keep-alive connection. */
export async function idleMax(server: Running, count: number): Promise<number> {
  return round(Math.max(...(await sequential(`${server.url}/fast?id=1`, count))));
}

/** What offloading adds: p50 of the slow route at n=0 minus p50 of /fast, sequential. */
export async function offloadOverhead(lane: Lane, count: number): Promise<number> {
  const fast = summarize(await sequential(`${lane.server.url}/fast?id=1`, count)).p50;
  const slow = summarize(await sequential(`${lane.server.url}/${lane.slow}?id=1&n=0`, count)).p50;
  return round(slow - fast);
}

export interface Speedup {
  oneMs: number;
  eightMs: number;
  /** 8 x one / eight: the core count at best. */
  speedup: number;
}

/** 8 slow requests at once against one alone. */
export async function speedup(lane: Lane, n: number): Promise<Speedup> {
  await burst([`${lane.server.url}/${lane.slow}?id=warm&n=${n}`]);
  let started = performance.now();
  await burst([`${lane.server.url}/${lane.slow}?id=one&n=${n}`]);
  const one = performance.now() - started;
  started = performance.now();
  const answers = await burst(Array.from({ length: 8 }, (_, i) => `${lane.server.url}/${lane.slow}?id=${i}&n=${n}`));
  if (answers.some((a) => a.status !== 200)) throw new Error(`${lane.name}: a slow request failed`);
  const eight = performance.now() - started;
  return { oneMs: Math.round(one), eightMs: Math.round(eight), speedup: round((8 * one) / eight) };
}

/** /fast p99 with 2 slow requests in flight over /fast p99 idle (4 keep-alive connections). */
export async function loadedP99Ratio(lane: Lane, seconds: number, n: number): Promise<number> {
  const idle = summarize((await fastLoad(lane.server.url, seconds)).samples.map((s) => s.latency)).p99;
  const slow = keepSlowInFlight(lane.server.url, lane.slow!, 2, n);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const loaded = summarize((await fastLoad(lane.server.url, seconds)).samples.map((s) => s.latency)).p99;
  await slow.stop();
  return round(loaded / idle);
}

export { CORES };
