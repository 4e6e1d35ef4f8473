// make bench: measures whether fast requests stay fast while slow work runs,
// and what offloading costs, against the blocking route and a bare node:http server.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { POOL_DEFAULTS } from '../lib/defaults.js';
import { latencyChart } from './chart.js';
import { burst, fastLoad, keepSlowInFlight, sequential, type Timed } from './load.js';
import { round, summarize, type Summary } from './numbers.js';
import { ROOT, startBare, startSlowlane, treeRssMb, type Running } from './processes.js';

const QUICK = process.env['QUICK'] === '1';
const WINDOW_S = QUICK ? 2 : 7;
const REPS = QUICK ? 1 : 3;
const SEQUENTIAL = QUICK ? 50 : 200;
const N = 2000;
const CORES = availableParallelism();
const ROUTES = ['slow', 'slow_threaded', 'slow_pool'] as const;
type Route = (typeof ROUTES)[number];
const OFFLOADED = ['slow_threaded', 'slow_pool'] as const;
const DEFAULT_NICENESS = POOL_DEFAULTS.niceness; // the server's default

const log = (line: string) => process.stderr.write(`${line}\n`);
const ms = (value: number) => round(value, 2);

async function seed(base: string) {
  const floorRuns: number[] = [];
  for (let r = 0; r < REPS; r += 1) {
    const arrivals = await burst(Array.from({ length: 23 }, (_, i) => `${base}/fast?id=${i + 1}`));
    floorRuns.push(Math.max(...arrivals.map((a) => a.at)));
  }
  const floorMax = Math.max(...floorRuns);
  const routes: Record<string, object> = {};
  for (const route of ROUTES) {
    const reps = [];
    for (let r = 0; r < REPS; r += 1) {
      const urls = [...[1, 2, 3].map((id) => `${base}/${route}?id=${id}`), ...Array.from({ length: 20 }, (_, i) => `${base}/fast?id=${i + 1}`)];
      const arrivals = await burst(urls);
      const fast = arrivals.filter((a) => a.url.includes('/fast')).map((a) => a.at);
      const slow = arrivals.filter((a) => !a.url.includes('/fast')).map((a) => a.at);
      reps.push({
        fastP50: ms(summarize(fast).p50), fastMax: ms(Math.max(...fast)),
        firstSlow: ms(Math.min(...slow)), lastSlow: ms(Math.max(...slow)),
        allFastFirst: Math.max(...fast) < Math.min(...slow),
        allOk: arrivals.every((a) => a.status === 200),
      });
    }
    routes[route] = { reps, fastMaxWorst: Math.max(...reps.map((r) => r.fastMax)), allFastFirstEveryTime: reps.every((r) => r.allFastFirst) };
  }
  return { floorMax: ms(floorMax), routes };
}

function latencySummary(samples: Timed[]): Summary {
  const s = summarize(samples.map((t) => t.latency));
  return { count: s.count, p50: ms(s.p50), p95: ms(s.p95), p99: ms(s.p99), max: ms(s.max) };
}

async function underLoad(base: string, route: Route, k: number) {
  const slow = keepSlowInFlight(base, route, k, N);
  await new Promise((resolve) => setTimeout(resolve, 300)); // let the first slow ones start
  const load = await fastLoad(base, WINDOW_S);
  const slowDone = await slow.stop();
  return { samples: load.samples, fast: latencySummary(load.samples), rps: Math.round(load.requestsPerSecond), non2xx: load.non2xx, slowDone };
}

async function fastUnderSlow(base: string, ks: readonly number[], routes: readonly Route[]) {
  const idleLoad = await fastLoad(base, WINDOW_S);
  const idle = { fast: latencySummary(idleLoad.samples), rps: Math.round(idleLoad.requestsPerSecond) };
  const results: Record<string, object> = {};
  const series: Record<string, Timed[]> = {};
  for (const route of routes) {
    for (const k of ks) {
      log(`  /${route} with ${k} slow in flight`);
      const run = await underLoad(base, route, k);
      if (k === 2) series[route] = run.samples;
      results[`${route}@${k}`] = {
        route, k, fast: run.fast, rps: run.rps, non2xx: run.non2xx, slowDone: run.slowDone,
        p50Ratio: round(run.fast.p50 / idle.fast.p50), p99Ratio: round(run.fast.p99 / idle.fast.p99), maxRatio: round(run.fast.max / idle.fast.max),
      };
    }
  }
  return { idle, results, series };
}

async function overhead(base: string) {
  const routes: Record<string, object> = {};
  const fast = summarize(await sequential(`${base}/fast?id=1`, SEQUENTIAL));
  routes['fast'] = { p50: ms(fast.p50), p95: ms(fast.p95) };
  for (const route of ROUTES) {
    const s = summarize(await sequential(`${base}/${route}?id=1&n=0`, SEQUENTIAL));
    routes[route] = { p50: ms(s.p50), p95: ms(s.p95), overP50: ms(s.p50 - fast.p50), overP95: ms(s.p95 - fast.p95) };
  }
  // The fork route again, paced so a spare is ready for each request: the cost
  // of the offload itself, without waiting for Node to start.
  const paced = summarize(await sequential(`${base}/slow_threaded?id=1&n=0`, QUICK ? 10 : 30, 250));
  routes['slow_threaded_paced'] = { p50: ms(paced.p50), p95: ms(paced.p95), overP50: ms(paced.p50 - fast.p50), overP95: ms(paced.p95 - fast.p95) };
  return routes;
}

async function throughput(slowlane: string, bare: string) {
  // The load generator shares the cores with the servers and gets faster as it
  // warms up, so: one discarded warm-up run, then rounds that alternate which
  // server goes first (ABBA), and the median ratio.
  const rounds = QUICK ? 2 : 4;
  const seconds = Math.max(2, Math.round(WINDOW_S / 2));
  await fastLoad(bare, 2, 8);
  const ours: number[] = [];
  const ceiling: number[] = [];
  for (let i = 0; i < rounds; i += 1) {
    if (i % 2 === 0) {
      ours.push((await fastLoad(slowlane, seconds, 8)).requestsPerSecond);
      ceiling.push((await fastLoad(bare, seconds, 8)).requestsPerSecond);
    } else {
      ceiling.push((await fastLoad(bare, seconds, 8)).requestsPerSecond);
      ours.push((await fastLoad(slowlane, seconds, 8)).requestsPerSecond);
    }
  }
  const median = (values: readonly number[]): number => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = sorted.length / 2;
    return Number.isInteger(mid) ? (sorted[mid - 1]! + sorted[mid]!) / 2 : sorted[Math.floor(mid)]!;
  };
  const ratios = ours.map((value, i) => value / ceiling[i]!);
  return { slowlaneRps: Math.round(median(ours)), bareRps: Math.round(median(ceiling)), ratio: round(median(ratios)), ratios: ratios.map((r) => round(r)) };
}

async function speedup(base: string) {
  const routes: Record<string, object> = {};
  for (const route of ROUTES) {
    let started = performance.now();
    await burst([`${base}/${route}?id=0&n=${N}`]);
    const single = performance.now() - started;
    started = performance.now();
    const arrivals = await burst(Array.from({ length: 8 }, (_, i) => `${base}/${route}?id=${i}&n=${N}`));
    const wall = performance.now() - started;
    const ideal = (8 * single) / CORES;
    routes[route] = { singleMs: Math.round(single), eightMs: Math.round(wall), ratioToSingle: round(wall / single), idealMs: Math.round(ideal), wallOverIdeal: round(wall / ideal), allOk: arrivals.every((a) => a.status === 200) };
  }
  return routes;
}

async function memory(server: Running) {
  const idle = treeRssMb(server.pid);
  const routes: Record<string, object> = {};
  for (const route of OFFLOADED) {
    let peak = idle.total;
    let mostChildren = 0;
    const sampler = setInterval(() => {
      const now = treeRssMb(server.pid);
      peak = Math.max(peak, now.total);
      mostChildren = Math.max(mostChildren, now.children.length);
    }, 50);
    const arrivals = await burst(Array.from({ length: 50 }, (_, i) => `${server.url}/${route}?id=${i}&n=${QUICK ? 300 : 1000}`));
    clearInterval(sampler);
    routes[route] = { peakMb: Math.round(peak), mostChildren, ok: arrivals.filter((a) => a.status === 200).length, refused: arrivals.filter((a) => a.status === 503).length };
  }
  return { idleMb: Math.round(idle.total), serverMb: Math.round(idle.server), childMb: idle.children.map((c) => Math.round(c)), routes };
}

interface Target {
  name: string;
  goal: string;
  measured: string;
  met: boolean;
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const t0 = performance.now();
  log(`slowlane bench${QUICK ? ' (QUICK)' : ''}: ${CORES} cores, load windows of ${WINDOW_S} s`);
  const bare = await startBare();
  let server = await startSlowlane();
  const results: Record<string, unknown> = {};
  const servers = [bare, server];
  try {
    await sequential(`${server.url}/slow_pool?id=warm&n=0`, 5);
    log('throughput'); results['throughput'] = await throughput(server.url, bare.url);
    log('seed'); results['seed'] = await seed(server.url);
    log('offload overhead'); results['overhead'] = await overhead(server.url);
    log('fast under slow load');
    const loaded = await fastUnderSlow(server.url, QUICK ? [2] : [2, 4], ROUTES);
    results['fastUnderSlow'] = { idle: loaded.idle, ...loaded.results };
    log('parallel speedup'); results['speedup'] = await speedup(server.url);
    log('memory'); results['memory'] = await memory(server);
    // The runs above used the server's default niceness; measure the others against it.
    const niceness: Record<string, object> = { [`${DEFAULT_NICENESS} (default)`]: Object.fromEntries(OFFLOADED.map((r) => [r, (loaded.results[`${r}@2`] as { p99Ratio: number }).p99Ratio])) };
    for (const nice of QUICK ? [] : [0, 10, 19].filter((n) => n !== DEFAULT_NICENESS)) {
      await server.stop();
      server = await startSlowlane(['--niceness', String(nice)]);
      servers.push(server);
      log(`niceness ${nice}`);
      const run = await fastUnderSlow(server.url, [2], OFFLOADED);
      niceness[String(nice)] = Object.fromEntries(OFFLOADED.map((r) => [r, (run.results[`${r}@2`] as { p99Ratio: number }).p99Ratio]));
    }
    results['nicenessP99Ratio'] = niceness;

    const svg = latencyChart(loaded.series, WINDOW_S, `/fast latency with 2 slow requests in flight (${CORES} cores)`);
    const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
    mkdirSync(`${ROOT}bench/results`, { recursive: true });
    writeFileSync(`${ROOT}bench/results/${stamp}.svg`, svg);
    if (!QUICK) copyFileSync(`${ROOT}bench/results/${stamp}.svg`, `${ROOT}bench/fast-latency.svg`);

    const targets = checkTargets(results);
    const machine = { cores: CORES, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, loadavg: loadavg().map((l) => round(l)), date: startedAt.toISOString() };
    writeFileSync(`${ROOT}bench/results/${stamp}.json`, `${JSON.stringify({ machine, quick: QUICK, windowSeconds: WINDOW_S, results, targets }, null, 2)}\n`);
    process.stdout.write(report(machine, results, targets));
    log(`\nwrote bench/results/${stamp}.json and .svg in ${Math.round((performance.now() - t0) / 1000)} s`);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

function checkTargets(r: Record<string, any>): Target[] {
  const targets: Target[] = [];
  for (const route of OFFLOADED) {
    const ratio = r['fastUnderSlow'][`${route}@2`].p99Ratio;
    targets.push({ name: `fast p99, 2 slow in flight, /${route}`, goal: '<= 2.0 x idle', measured: `${ratio} x`, met: ratio <= 2.0 });
  }
  const over = r['overhead'];
  targets.push({ name: 'offload overhead p50, /slow_pool', goal: '<= 0.3 ms', measured: `${over['slow_pool'].overP50} ms`, met: over['slow_pool'].overP50 <= 0.3 });
  targets.push({ name: 'offload overhead p50, /slow_threaded', goal: '<= 2 ms', measured: `${over['slow_threaded'].overP50} ms (paced: ${over['slow_threaded_paced'].overP50} ms)`, met: over['slow_threaded'].overP50 <= 2 });
  targets.push({ name: '/fast throughput vs bare node:http', goal: '>= 0.95 x', measured: `${r['throughput'].ratio} x median of ${r['throughput'].ratios.join(', ')} (${r['throughput'].slowlaneRps} vs ${r['throughput'].bareRps} req/s)`, met: r['throughput'].ratio >= 0.95 });
  for (const route of OFFLOADED) {
    const s = r['speedup'][route];
    targets.push({ name: `8 slow at once, /${route}`, goal: '<= 1.1 x (8 x single / cores)', measured: `${s.wallOverIdeal} x (${s.eightMs} ms vs ideal ${s.idealMs} ms)`, met: s.wallOverIdeal <= 1.1 });
  }
  for (const route of OFFLOADED) {
    const seedRoute = r['seed'].routes[route];
    const ratio = round(seedRoute.fastMaxWorst / r['seed'].floorMax);
    targets.push({ name: `seed, /${route}`, goal: 'all fast first; fast max <= 1.5 x floor', measured: `${seedRoute.allFastFirstEveryTime ? 'all fast first' : 'NOT all fast first'}; ${ratio} x (${seedRoute.fastMaxWorst} vs ${r['seed'].floorMax} ms)`, met: seedRoute.allFastFirstEveryTime && ratio <= 1.5 });
  }
  return targets;
}

function report(machine: Record<string, unknown>, r: Record<string, any>, targets: Target[]): string {
  const lines: string[] = [];
  lines.push(`Machine: ${machine['cores']} cores, ${machine['cpu']}, Node ${machine['node']}, load average ${(machine['loadavg'] as number[]).join(' ')}${QUICK ? ' (QUICK run)' : ''}`, '');
  lines.push('| target | goal | measured | met |', '| --- | --- | --- | --- |');
  for (const t of targets) lines.push(`| ${t.name} | ${t.goal} | ${t.measured} | ${t.met ? 'yes' : 'NO'} |`);
  lines.push('', `Fast under slow load (4 keep-alive connections on /fast, ${WINDOW_S} s each; latency in ms):`, '');
  lines.push('| slow route | slow in flight | fast p50 | fast p99 | fast max | req/s | p99 / idle |', '| --- | --- | --- | --- | --- | --- | --- |');
  const idle = r['fastUnderSlow'].idle;
  lines.push(`| (idle) | 0 | ${idle.fast.p50} | ${idle.fast.p99} | ${idle.fast.max} | ${idle.rps} | 1 |`);
  for (const [key, v] of Object.entries<any>(r['fastUnderSlow'])) {
    if (key === 'idle') continue;
    lines.push(`| /${v.route} | ${v.k} | ${v.fast.p50} | ${v.fast.p99} | ${v.fast.max} | ${v.rps} | ${v.p99Ratio} |`);
  }
  lines.push('', 'Seed (3 slow + 20 fast at once; ms after sending; worst of the repetitions):', '');
  lines.push(`| route | fast p50 | fast max | first slow | last slow | every fast first |`, '| --- | --- | --- | --- | --- | --- |');
  lines.push(`| 23 x /fast alone (floor) | | ${r['seed'].floorMax} | | | |`);
  for (const route of ROUTES) {
    const reps = r['seed'].routes[route].reps as any[];
    lines.push(`| /${route} | ${Math.max(...reps.map((x) => x.fastP50))} | ${Math.max(...reps.map((x) => x.fastMax))} | ${Math.min(...reps.map((x) => x.firstSlow))} | ${Math.max(...reps.map((x) => x.lastSlow))} | ${reps.every((x) => x.allFastFirst) ? 'yes' : 'no'} |`);
  }
  lines.push('', `Offload overhead (${SEQUENTIAL} sequential keep-alive requests, n=0; ms):`, '');
  lines.push('| route | p50 | p95 | p50 over /fast | p95 over /fast |', '| --- | --- | --- | --- | --- |');
  for (const [route, v] of Object.entries<any>(r['overhead'])) lines.push(`| ${route} | ${v.p50} | ${v.p95} | ${v.overP50 ?? ''} | ${v.overP95 ?? ''} |`);
  lines.push('', `Parallel speedup (8 x n=${N} at once vs one alone):`, '');
  lines.push('| route | one (ms) | eight (ms) | eight / one | ideal (ms) | wall / ideal |', '| --- | --- | --- | --- | --- | --- |');
  for (const [route, v] of Object.entries<any>(r['speedup'])) lines.push(`| /${route} | ${v.singleMs} | ${v.eightMs} | ${v.ratioToSingle} | ${v.idealMs} | ${v.wallOverIdeal} |`);
  const mem = r['memory'];
  lines.push('', `Memory (RSS of server + children): idle ${mem.idleMb} MiB (server ${mem.serverMb}, children ${mem.childMb.join(', ')})`, '');
  lines.push('| route | peak MiB during 50 concurrent slow | most children (pool\'s included) | 200 | 503 |', '| --- | --- | --- | --- | --- |');
  for (const [route, v] of Object.entries<any>(mem.routes)) lines.push(`| /${route} | ${v.peakMb} | ${v.mostChildren} | ${v.ok} | ${v.refused} |`);
  lines.push('', 'Children\'s niceness vs fast p99 / idle p99, 2 slow in flight:', '');
  lines.push('| niceness | /slow_threaded | /slow_pool |', '| --- | --- | --- |');
  for (const [nice, v] of Object.entries<any>(r['nicenessP99Ratio'])) lines.push(`| ${nice} | ${v.slow_threaded} | ${v.slow_pool} |`);
  return `${lines.join('\n')}\n`;
}

await main();
