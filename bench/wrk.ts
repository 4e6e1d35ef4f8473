// /fast loaded by wrk (a C load generator: one thread, 32 connections), the
// way an independent harness measured it, beside make bench's own
// autocannon figures. Server CPU per request is read from /proc the same
// way for both. wrk is Debian's package `wrk`; without it this row is skipped.
import { existsSync } from 'node:fs';
import { cpuTicks } from '../tools/proc.js';
import { runCommand } from '../tools/server-process.js';
import { round, summarize } from './numbers.js';
import type { Running } from './processes.js';

/** Linux reports CPU time in ticks of 10 ms (USER_HZ 100). */
const TICK_US = 10_000;

export const WRK = ['/usr/bin/wrk', '/usr/local/bin/wrk'].find((path) => existsSync(path));

export interface WrkFigures {
  rps: number;
  p99: number;
  cpuUsPerRequest: number;
}

/** wrk's latency in ms from its own units (us, ms, s). */
function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : n;
}

export function parseWrk(output: string): { requests: number; rps: number; p99: number } {
  const requests = Number(/(\d+) requests in/.exec(output)?.[1]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1]);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s)\s*$/m.exec(output);
  if (!(requests > 0) || !(rps > 0) || p99 === null) throw new Error(`cannot read wrk's output:\n${output}`);
  return { requests, rps, p99: toMs(p99[1]!, p99[2]!) };
}

async function wrkRound(server: Running, seconds: number): Promise<WrkFigures> {
  const before = cpuTicks(server.pid);
  const run = await runCommand(WRK!, ['-t1', '-c32', `-d${seconds}s`, '--latency', `${server.url}/fast?id=1`], (seconds + 10) * 1000);
  const ticks = cpuTicks(server.pid) - before;
  const { requests, rps, p99 } = parseWrk(run.stdout);
  return { rps: Math.round(rps), p99, cpuUsPerRequest: (ticks * TICK_US) / requests };
}

/** Rounds over every server, rotating which goes first; medians. Undefined when wrk is not installed. */
export async function wrkThroughput(servers: readonly Running[], rounds: number, seconds: number): Promise<WrkFigures[] | undefined> {
  if (WRK === undefined) return undefined;
  for (const server of servers) await wrkRound(server, 1); // warm-up, discarded
  const runs: WrkFigures[][] = servers.map(() => []);
  for (let r = 0; r < rounds; r += 1) {
    for (let i = 0; i < servers.length; i += 1) {
      const at = (i + r) % servers.length;
      runs[at]!.push(await wrkRound(servers[at]!, seconds));
    }
  }
  const median = (values: number[]): number => summarize(values).p50;
  return runs.map((list) => ({
    rps: Math.round(median(list.map((f) => f.rps))),
    p99: round(median(list.map((f) => f.p99))),
    cpuUsPerRequest: round(median(list.map((f) => f.cpuUsPerRequest)), 1),
  }));
}
