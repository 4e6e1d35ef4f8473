// The prototype's client: schedule N slow requests, then M fast ones, send
// them all at once, print each body as it arrives, then sum up whether every
// fast answer beat the first slow one.
import { performance } from 'node:perf_hooks';
import { httpGet, type HttpGet } from '../client/http-get.js';

export const SCENARIOS = ['slow', 'slow_threaded', 'slow_pool'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface CallMultiOptions {
  baseUrl: string;
  scenario: Scenario;
  slow: number;
  fast: number;
  print: (line: string) => void;
  get?: HttpGet;
}

export interface KindReport {
  ok: number;
  failed: number;
  /** ms after sending started of each 200 answer, in arrival order. */
  arrivals: number[];
}

export interface CallMultiReport {
  fast: KindReport & { slowestMs: number };
  slow: KindReport;
  everyFastBeforeFirstSlow: boolean;
  /** Nothing answered because nothing listens at baseUrl. */
  unreachable: boolean;
}

interface Planned {
  kind: 'fast' | 'slow';
  url: string;
}

export function plan(baseUrl: string, scenario: Scenario, slow: number, fast: number): Planned[] {
  const base = baseUrl.replace(/\/+$/, '');
  const slowOnes = Array.from({ length: slow }, (_, i) => ({ kind: 'slow' as const, url: `${base}/${scenario}?id=${i + 1}` }));
  const fastOnes = Array.from({ length: fast }, (_, i) => ({ kind: 'fast' as const, url: `${base}/fast?id=${i + 1}` }));
  return [...slowOnes, ...fastOnes];
}

export async function callMulti({ baseUrl, scenario, slow, fast, print, get = httpGet }: CallMultiOptions): Promise<CallMultiReport> {
  const requests = plan(baseUrl, scenario, slow, fast);
  print('Scheduling Get Requests:');
  print('------------------------');
  for (const { url } of requests) print(url);
  print('');
  print('Start sending requests....');

  const report: CallMultiReport = {
    fast: { ok: 0, failed: 0, arrivals: [], slowestMs: 0 },
    slow: { ok: 0, failed: 0, arrivals: [] },
    everyFastBeforeFirstSlow: false,
    unreachable: false,
  };
  let refused = 0;
  const started = performance.now();
  await Promise.all(
    requests.map(async ({ kind, url }) => {
      const tally = report[kind];
      try {
        const { status, body } = await get(url);
        if (status === 200) {
          // Only answers count as arrivals: a quick 503 is not a slow result.
          tally.arrivals.push(performance.now() - started);
          tally.ok += 1;
          print(body.trimEnd());
        } else {
          tally.failed += 1;
          print(`${status} from ${url}: ${body.trimEnd()}`);
        }
      } catch (error) {
        tally.failed += 1;
        if ((error as NodeJS.ErrnoException).code === 'ECONNREFUSED') refused += 1;
        else print(`error from ${url}: ${(error as Error).message}`);
      }
    }),
  );
  report.unreachable = refused === requests.length;
  report.fast.slowestMs = Math.max(0, ...report.fast.arrivals);
  const firstSlow = Math.min(...report.slow.arrivals);
  report.everyFastBeforeFirstSlow = report.fast.failed === 0 && report.fast.arrivals.every((at) => at < firstSlow);
  return report;
}

function counts(kind: KindReport): string {
  return kind.failed === 0 ? `${kind.ok} ok` : `${kind.ok} ok, ${kind.failed} failed`;
}

export function summaryLine({ fast, slow, everyFastBeforeFirstSlow }: CallMultiReport): string {
  const lastSlow = slow.arrivals.length === 0 ? '-' : `${(Math.max(...slow.arrivals) / 1000).toFixed(2)} s`;
  return [
    `fast: ${counts(fast)}, slowest ${Math.round(fast.slowestMs)} ms`,
    `slow: ${counts(slow)}, last at ${lastSlow}`,
    `every fast answer before the first slow: ${everyFastBeforeFirstSlow ? 'yes' : 'no'}`,
  ].join(' | ');
}
