// make bench: measures whether fast requests stay fast while slow work runs,
// and what offloading costs, against the blocking route and a bare node:http server.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { POOL_DEFAULTS } from '../lib/defaults.js';
import { latencyChart } from './chart.js';
import { burst, fastLoad, get, keepInFlight, keepSlowInFlight, paced, resetStorm, sequential, type Timed } from './load.js';
import { round, summarize, type Summary } from './numbers.js';
import { childStartCost } from './child-start.js';
import { spawnStall, type StallRow } from './spawn-stall.js';
import { treeCpuTicks } from '../tools/proc.js';
import { ROOT, startBare, startPeer, startSlowlane, startSlowlaneLogging, treeRssMb, type Running } from './processes.js';
import { fastThroughput, idleMax, loadedP99Ratio, offloadOverhead, speedup, type Lane, type LaneFigures } from './side-by-side.js';
import { WRK, wrkThroughput } from './wrk.js';
import { exportsBench } from './exports.js';
import { largeValues } from './large-values.js';
import { BENCH_PREFETCH, noopRuns } from './noop-runs.js';
import { footprints } from './footprint.js';
import { streamRows, type StreamRows } from './stream-rows.js';
import { nicenessCost } from './niceness-cost.js';
import { queueOverhead } from './queue-overhead.js';
import { queueThroughput, type QueueThroughput } from './queue-throughput.js';
import { hasRedis } from '../tools/redis.js';

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

async function speedupOld(base: string) {
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

// The fork lane's sustained rate: each request is a child's start-up, so the
// rate it can keep up is cores / CPU per request. Child start CPU alone gives
// an upper bound; the whole cost (fork() in the server, the child's start and
// exit, the HTTP work) is read from the server's own and reaped children's
// CPU over paced requests. Then 90 % of that is offered open loop, tasks doing
// nothing (n=0), so start-ups are all there is.
async function sustainedFork(server: Running, childCpuMs: number) {
  const upperBound = CORES / (childCpuMs / 1000);
  const count = QUICK ? 10 : 30;
  // The whole tree: children started by the spawner are reaped there, not by the server.
  const before = treeCpuTicks(server.pid);
  await sequential(`${server.url}/slow_threaded?id=cpu&n=0`, count, 250);
  await new Promise((resolve) => setTimeout(resolve, 500)); // the last child exits and is reaped
  const cpuMsPerRequest = ((treeCpuTicks(server.pid) - before) * 10) / count;
  const capacity = CORES / (cpuMsPerRequest / 1000);
  const run = await paced(`${server.url}/slow_threaded?n=0`, round(0.9 * capacity, 1), QUICK ? 3 : 8);
  const s = summarize(run.latencies);
  return {
    upperBoundPerS: round(upperBound, 1), cpuMsPerRequest: round(cpuMsPerRequest, 1), capacityPerS: round(capacity, 1),
    offeredPerS: run.offeredPerS, achievedPerS: round(run.achievedPerS, 1), ok: run.ok, failed: run.failed, p50: ms(s.p50), p99: ms(s.p99),
  };
}

// Issue 11's storm: 4 clients open /slow_threaded and reset it 30 ms later,
// for STORM_S seconds, with /fast load beside it; once with the spawn budget
// lifted (as before it existed) and once with the default, one after the other.
const STORM_S = QUICK ? 4 : 12;
async function resetStorms() {
  const runs: Record<string, object> = {};
  for (const [label, args] of [['no budget (--max-starts 10000)', ['--max-starts', '10000']], ['default budget', []]] as const) {
    const s = await startSlowlane([...args]);
    try {
      const idle = latencySummary((await fastLoad(s.url, WINDOW_S)).samples);
      const storm = resetStorm(`${s.url}/slow_threaded?n=${N}`, 4, 30, STORM_S);
      const loaded = await fastLoad(s.url, STORM_S);
      const opened = await storm;
      const stats = JSON.parse((await get(`${s.url}/stats`)).body) as { pools: { perRequest: { started: number; startsDeferred: number } } };
      const fast = latencySummary(loaded.samples);
      runs[label] = { idleP99: idle.p99, stormP99: fast.p99, stormMax: fast.max, p99Ratio: round(fast.p99 / idle.p99), rps: Math.round(loaded.requestsPerSecond), opened, started: stats.pools.perRequest.started, startsDeferred: stats.pools.perRequest.startsDeferred };
    } finally {
      await s.stop();
    }
  }
  return runs;
}

// Issue 12's comparison, as its source made with wrk: /fast with report
// requests in flight, inline (/report, the server's own connection) versus
// pooled (/report_pool, a connection per child), and each route's own
// throughput at 4 connections.
async function reports(server: Running) {
  await sequential(`${server.url}/report_pool?region=north`, 3); // the database is built and the children ready
  const runs: Record<string, object> = {};
  for (const route of ['report', 'report_pool']) {
    const slow = keepInFlight((i, j) => `${server.url}/${route}?region=north&days=365&id=${i}-${j}`, 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const load = await fastLoad(server.url, WINDOW_S);
    const inFlightDone = await slow.stop();
    const fast = latencySummary(load.samples);
    const started = performance.now();
    const own = keepInFlight((i, j) => `${server.url}/${route}?region=south&days=365&id=${i}-${j}`, 4);
    await new Promise((resolve) => setTimeout(resolve, WINDOW_S * 1000));
    const done = await own.stop();
    runs[route] = { fastRps: Math.round(load.requestsPerSecond), fastP50: fast.p50, fastP99: fast.p99, fastMax: fast.max, reportsDuringFastLoad: inFlightDone, reportsPerSecond: round(done / ((performance.now() - started) / 1000), 1) };
  }
  return runs;
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

async function sideBySide(bare: Running, slowlane: Running, slowlaneLogging: Running, piscina: Running, workerpool: Running) {
  const lanes: Lane[] = [
    { name: 'piscina', server: piscina, slow: 'slow_offload' },
    { name: 'workerpool', server: workerpool, slow: 'slow_offload' },
    { name: 'slowlane pool', server: slowlane, slow: 'slow_pool' },
    { name: 'slowlane fork', server: slowlane, slow: 'slow_threaded' },
  ];
  log('  /fast throughput, 32 connections');
  const [bareFast, piscinaFast, workerpoolFast, logFast, quietFast] = await fastThroughput([bare, piscina, workerpool, slowlaneLogging, slowlane], QUICK ? 1 : 3, QUICK ? 2 : 3);
  log(WRK === undefined ? '  /fast under wrk: skipped, wrk is not installed (apt-get install wrk)' : '  /fast under wrk -t1 -c32');
  const [bareWrk, logWrk, quietWrk] = (await wrkThroughput([bare, slowlaneLogging, slowlane], QUICK ? 1 : 3, QUICK ? 2 : 5)) ?? [];
  const figures: Record<string, LaneFigures> = {
    bare: { fast: bareFast!, wrk: bareWrk, idleMax: await idleMax(bare, SEQUENTIAL) },
    piscina: { fast: piscinaFast! },
    workerpool: { fast: workerpoolFast! },
    'slowlane pool': { fast: logFast!, fastQuiet: quietFast!, wrk: logWrk, wrkQuiet: quietWrk },
    'slowlane fork': { fast: logFast!, fastQuiet: quietFast! },
  };
  for (const lane of lanes) {
    log(`  ${lane.name}: idle max, offload overhead, 8 at once, loaded p99`);
    const f = figures[lane.name]!;
    f.idleMax = await idleMax(lane.server, SEQUENTIAL);
    f.offloadP50 = await offloadOverhead(lane, SEQUENTIAL);
    f.speedup = await speedup(lane, N);
    f.loadedP99Ratio = await loadedP99Ratio(lane, QUICK ? 2 : 4, N);
  }
  return figures;
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const t0 = performance.now();
  log(`slowlane bench${QUICK ? ' (QUICK)' : ''}: ${CORES} cores, load windows of ${WINDOW_S} s`);
  const bare = await startBare();
  let server = await startSlowlane();
  const servers = [bare, server];
  const results: Record<string, unknown> = {};
  try {
    const [slowlaneLogging, piscina, workerpool] = await Promise.all([startSlowlaneLogging(), startPeer('piscina'), startPeer('workerpool')]);
    servers.push(slowlaneLogging, piscina, workerpool);
    await sequential(`${server.url}/slow_pool?id=warm&n=0`, 5);
    log('side by side'); results['sideBySide'] = await sideBySide(bare, server, slowlaneLogging, piscina, workerpool);
    await Promise.all([slowlaneLogging.stop(), piscina.stop(), workerpool.stop()]);
    log('child start cost'); results['childStart'] = await childStartCost(QUICK ? 5 : 15);
    log('child start cost, forked directly'); results['childStartFork'] = await childStartCost(QUICK ? 5 : 15, false);
    log('a big server\'s stall per child start, forked and spawned'); results['spawnStall'] = await spawnStall(QUICK ? [0, 2048] : [0, 2048, 4096]);
    log('fork lane, sustained rate'); results['sustainedFork'] = await sustainedFork(server, (results['childStart'] as { childCpuMs: number }).childCpuMs);
    log('seed'); results['seed'] = await seed(server.url);
    log('offload overhead'); results['overhead'] = await overhead(server.url);
    log('fast under slow load');
    const loaded = await fastUnderSlow(server.url, QUICK ? [2] : [2, 4], ROUTES);
    results['fastUnderSlow'] = { idle: loaded.idle, ...loaded.results };
    log('parallel speedup'); results['speedup'] = await speedupOld(server.url);
    log('reports, inline and pooled'); results['reports'] = await reports(server);
    log('exports, streamed'); results['exports'] = await exportsBench(server, WINDOW_S);
    log('large values, slowlane and piscina'); results['largeValues'] = await largeValues(QUICK ? 10 : 20);
    log('no-op runs, slowlane, piscina and workerpool'); results['noopRuns'] = await noopRuns();
    log('a generator yielding rows one at a time, and in batches'); results['streamRows'] = await streamRows(QUICK ? 3 : 5);
    log('an idle pool of 2: the whole tree, slowlane and piscina'); results['footprint'] = footprints();
    log('memory'); results['memory'] = await memory(server);
    if (hasRedis()) {
      log('queue: slowlane/queue on a loopback Redis'); results['queue'] = await queueOverhead(QUICK ? 200 : 500, N);
      log('queue: throughput beside plain BullMQ'); results['queueThroughput'] = await queueThroughput(QUICK ? 1000 : 2000);
    }
    log('reset storm, without and with the spawn budget'); results['resetStorm'] = await resetStorms();
    // The runs above used the server's default niceness; NICENESS=1 measures the others against it.
    const niceness: Record<string, object> = { [`${DEFAULT_NICENESS} (default)`]: Object.fromEntries(OFFLOADED.map((r) => [r, (loaded.results[`${r}@2`] as { p99Ratio: number }).p99Ratio])) };
    for (const nice of process.env['NICENESS'] === '1' ? [0, 10, 19].filter((n) => n !== DEFAULT_NICENESS) : []) {
      await server.stop();
      server = await startSlowlane(['--niceness', String(nice)]);
      servers.push(server);
      log(`niceness ${nice}`);
      const run = await fastUnderSlow(server.url, [2], OFFLOADED);
      niceness[String(nice)] = Object.fromEntries(OFFLOADED.map((r) => [r, (run.results[`${r}@2`] as { p99Ratio: number }).p99Ratio]));
    }
    results['nicenessP99Ratio'] = niceness;
    // The other side of niceness: what it costs the slow work when another CPU-bound process competes.
    if (process.env['NICENESS'] === '1') {
      await server.stop();
      log('niceness cost under competition'); results['nicenessCost'] = await nicenessCost(1, [0, 10, 19]);
    }

    const svg = latencyChart(loaded.series, WINDOW_S, `/fast latency with 2 slow requests in flight (${CORES} cores)`);
    const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
    mkdirSync(`${ROOT}bench/results`, { recursive: true });
    writeFileSync(`${ROOT}bench/results/${stamp}.svg`, svg);
    if (!QUICK) copyFileSync(`${ROOT}bench/results/${stamp}.svg`, `${ROOT}docs/fast-latency.svg`);

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
  const add = (name: string, goal: string, measured: string, met: boolean) => targets.push({ name, goal, measured, met });
  const sbs = r['sideBySide'] as Record<string, LaneFigures>;
  const bare = sbs['bare']!.fast!;
  const pool = sbs['slowlane pool']!;
  const fork = sbs['slowlane fork']!;
  for (const [label, fast] of [['log on', pool.fast!], ['log off', pool.fastQuiet!]] as const) {
    const x = (a: number, b: number) => round(a / b);
    add(`1. /fast req/s vs bare, ${label}`, '>= 0.95 x', `${x(fast.rps, bare.rps)} x (${fast.rps} vs ${bare.rps})`, fast.rps / bare.rps >= 0.95);
    add(`1. /fast p99 vs bare, ${label}`, '<= 1.2 x', `${x(fast.p99, bare.p99)} x (${fast.p99} vs ${bare.p99} ms)`, fast.p99 / bare.p99 <= 1.2);
    add(`1. server CPU per /fast vs bare, ${label}`, '<= 1.1 x', `${x(fast.cpuUsPerRequest, bare.cpuUsPerRequest)} x (${fast.cpuUsPerRequest} vs ${bare.cpuUsPerRequest} us)`, fast.cpuUsPerRequest / bare.cpuUsPerRequest <= 1.1);
  }
  const bareWrk = sbs['bare']!.wrk;
  for (const [label, fast] of [['log on', pool.wrk], ['log off', pool.wrkQuiet]] as const) {
    if (bareWrk === undefined || fast === undefined) {
      add(`5. wrk: /fast vs bare, ${label}`, 'measured', 'skipped: wrk is not installed (apt-get install wrk)', false);
      continue;
    }
    const x = (a: number, b: number) => round(a / b);
    add(`5. wrk: server CPU per /fast vs bare, ${label}`, '<= 1.1 x', `${x(fast.cpuUsPerRequest, bareWrk.cpuUsPerRequest)} x (${fast.cpuUsPerRequest} vs ${bareWrk.cpuUsPerRequest} us)`, fast.cpuUsPerRequest / bareWrk.cpuUsPerRequest <= 1.1);
    add(`5. wrk: /fast p99 vs bare, ${label}`, '<= 1.2 x', `${x(fast.p99, bareWrk.p99)} x (${fast.p99} vs ${bareWrk.p99} ms)`, fast.p99 / bareWrk.p99 <= 1.2);
  }
  const queue = r['queue'] as { addedP50: number; localP50: number; queueP50: number; eightLocalMs: number; eightQueueMs: number } | undefined;
  const tp = r['queueThroughput'] as QueueThroughput | undefined;
  if (queue === undefined || tp === undefined) add('20. queue: added p50 of a remote n=0 task over the local pool', '<= 1.5 ms', 'skipped: redis-server is not installed (apt-get install redis-server)', false);
  else {
    add('20. queue: added p50 of a remote n=0 task over the local pool', '<= 1.5 ms', `${queue.addedP50} ms (${queue.queueP50} vs ${queue.localP50} ms)`, queue.addedP50 <= 1.5);
    add(`27. queue: tasks/s, ${tp.tasks} tiny tasks, ${tp.inFlight} in flight, two hosts of 2 children at niceness 0, vs BullMQ (sandboxed Worker, waitUntilFinished)`, '>= 1.0 x', `${round(tp.slowlane.tasksPerSecond / tp.bullmq.tasksPerSecond)} x (${tp.slowlane.tasksPerSecond} vs ${tp.bullmq.tasksPerSecond}/s)`, tp.slowlane.tasksPerSecond >= tp.bullmq.tasksPerSecond);
    add('27. queue: Redis commands per task (INFO commandstats, Lua calls counted), vs BullMQ', 'stated', `${tp.slowlane.commandsPerTask} vs ${tp.bullmq.commandsPerTask}`, true);
    add('20. queue: 8 at once on two worker hosts vs the local pool of 2', '<= 1.0 x', `${round(queue.eightQueueMs / queue.eightLocalMs)} x (${queue.eightQueueMs} vs ${queue.eightLocalMs} ms)`, queue.eightQueueMs <= queue.eightLocalMs);
  }
  const stall = r['spawnStall'] as StallRow[];
  const small = stall.find((row) => row.mib === 0 && row.mode === 'spawner')!;
  for (const row of stall.filter((x) => x.mib > 0 && x.mode === 'spawner')) {
    const forked = stall.find((x) => x.mib === row.mib && x.mode === 'fork')!;
    add(`22. spawner: loop delay max, 10 per-task runs, ${row.rssMib} MiB server vs ${small.rssMib} MiB`, '<= 1.5 x', `${round(row.loopDelayMaxMs / small.loopDelayMaxMs)} x (${row.loopDelayMaxMs} vs ${small.loopDelayMaxMs} ms; forked: ${forked.loopDelayMaxMs} ms)`, row.loopDelayMaxMs <= 1.5 * small.loopDelayMaxMs);
  }
  const spawned = r['childStart'] as { readyMs: number };
  const forkedStart = r['childStartFork'] as { readyMs: number };
  add('22. spawner: child start to ready vs fork(), same run', '<= 1.0 x', `${round(spawned.readyMs / forkedStart.readyMs)} x (${spawned.readyMs} vs ${forkedStart.readyMs} ms)`, spawned.readyMs <= forkedStart.readyMs);
  const workerpoolP50 = sbs['workerpool']!.offloadP50!;
  add('2. pool lane: added p50 over /fast, n=0', `<= workerpool's in this run (${workerpoolP50} ms)`, `${pool.offloadP50} ms (piscina ${sbs['piscina']!.offloadP50} ms)`, pool.offloadP50! <= workerpoolP50);
  add('2. pool lane: 8 at once, speedup', '>= 1.9', `${pool.speedup!.speedup} (${pool.speedup!.eightMs} ms vs one ${pool.speedup!.oneMs} ms)`, pool.speedup!.speedup >= 1.9);
  const start = r['childStart'] as { readyMs: number; childCpuMs: number; forkBlocksMs: number };
  const ideal = (8 * pool.speedup!.oneMs + 8 * start.readyMs) / CORES;
  add('3. fork lane: 8 at once vs (8 x task + 8 x child start) / cores', '<= 1.15 x', `${round(fork.speedup!.eightMs / ideal)} x (${fork.speedup!.eightMs} vs ${Math.round(ideal)} ms)`, fork.speedup!.eightMs / ideal <= 1.15);
  const seedFork = r['seed'].routes['slow_threaded'];
  const seedRatio = round(seedFork.fastMaxWorst / r['seed'].floorMax);
  add('3. fork lane: seed burst, fast max vs 23-/fast floor', '<= 1.5 x', `${seedFork.allFastFirstEveryTime ? 'all fast first' : 'NOT all fast first'}; ${seedRatio} x (${seedFork.fastMaxWorst} vs ${r['seed'].floorMax} ms)`, seedFork.allFastFirstEveryTime && seedRatio <= 1.5);
  const sustained = r['sustainedFork'] as { upperBoundPerS: number; cpuMsPerRequest: number; capacityPerS: number; offeredPerS: number; achievedPerS: number; failed: number; p50: number; p99: number };
  add('3. fork lane: sustained rate = cores / CPU per request', 'documented', `${sustained.capacityPerS} req/s (${sustained.cpuMsPerRequest} ms CPU per request, server and child; child start alone ${start.childCpuMs} ms CPU, bound ${sustained.upperBoundPerS} req/s; ${start.readyMs} ms to ready, fork() blocks ${start.forkBlocksMs} ms)`, true);
  add('3. fork lane: that rate reached (90 % of it offered, open loop)', '>= 0.95 x offered, none failed', `${sustained.achievedPerS} of ${sustained.offeredPerS} req/s answered, ${sustained.failed} failed, latency p50 ${sustained.p50} / p99 ${sustained.p99} ms`, sustained.achievedPerS >= 0.95 * sustained.offeredPerS && sustained.failed === 0);
  const ex = r['exports'] as Awaited<ReturnType<typeof exportsBench>>;
  add('6. export: first byte at idle', '<= 50 ms', `${ex.firstByteMs} ms (${ex.rows} rows, ${Math.round(ex.bytes / 1024)} KiB in ${ex.totalMs} ms)`, ex.firstByteMs <= 50);
  add('6. export: server RSS growth during one export', '< 20 MiB', `${ex.rssGrowthMb} MiB`, ex.rssGrowthMb < 20);
  add('6. export: /fast p99, two exports running / idle', '<= 2 x', `${ex.fastP99Ratio} x (${ex.fastTwoExportsP99} vs ${ex.fastIdleP99} ms)`, ex.fastP99Ratio <= 2);
  add('6. export: rows/s vs the same iterate() inline', '>= 0.8 x', `${round(ex.rowsPerSecond / ex.inline.rowsPerSecond)} x (${ex.rowsPerSecond} vs ${ex.inline.rowsPerSecond}; inline blocks its loop ${ex.inline.loopBlockedMs} ms)`, ex.rowsPerSecond / ex.inline.rowsPerSecond >= 0.8);
  add('6. export: a reader at 100 KiB/s, server RSS growth', '< 20 MiB', `${ex.slowReader.rssGrowthMb} MiB (${Math.round(ex.slowReader.bytesIn3s / 1024)} KiB read in 3 s)`, ex.slowReader.rssGrowthMb < 20);
  const rows = r['streamRows'] as StreamRows;
  add(`29. a generator yielding ${rows.rows} CSV rows one at a time vs in 32 KiB batches`, '<= 1.5 x', `${rows.ratio} x (${rows.perRowMs} vs ${rows.batchedMs} ms)`, rows.ratio <= 1.5);
  const noop = r['noopRuns'] as Awaited<ReturnType<typeof noopRuns>>;
  add('29. no-op tasks/s, 20 000 runs at 64 in flight, 2 workers', ">= piscina's", `${noop.slowlane.tasksPerSecond} (piscina ${noop.piscina.tasksPerSecond}, workerpool ${noop.workerpool.tasksPerSecond})`, noop.slowlane.tasksPerSecond >= noop.piscina.tasksPerSecond);
  add(`29. the same with prefetch ${BENCH_PREFETCH} (batches of tiny tasks)`, ">= piscina's", `${noop.prefetch.tasksPerSecond} (piscina ${noop.piscina.tasksPerSecond})`, noop.prefetch.tasksPerSecond >= noop.piscina.tasksPerSecond);
  add('29. no-op run p95, one at a time', "<= workerpool's", `${noop.slowlane.p95} ms (p50 ${noop.slowlane.p50}; piscina ${noop.piscina.p95}, workerpool ${noop.workerpool.p95})`, noop.slowlane.p95 <= noop.workerpool.p95);
  const size = r['footprint'] as ReturnType<typeof footprints>;
  add('29. an idle pool of 2, RSS of the whole tree', "<= 1.5 x piscina's", `${round(size.slowlane.rssMb / size.piscina.rssMb)} x (${size.slowlane.rssMb} MiB in ${size.slowlane.processes} processes vs ${size.piscina.rssMb}; anonymous ${size.slowlane.anonMb} vs ${size.piscina.anonMb})`, size.slowlane.rssMb <= 1.5 * size.piscina.rssMb);
  for (const row of r['largeValues'] as Array<{ case: string; slowlaneP50: number; sharedP50: number; piscinaP50: number; ratio: number }>) {
    add(`29. ${row.case}, p50`, "<= 1.5 x piscina's", `${row.ratio} x (${row.slowlaneP50} vs ${row.piscinaP50} ms; through /dev/shm ${row.sharedP50} ms)`, row.ratio <= 1.5);
  }
  for (const [name, lane] of [['pool', pool], ['fork', fork]] as const) {
    add(`4. ${name} lane: /fast p99, 2 slow in flight / idle`, '<= 2 x', `${lane.loadedP99Ratio} x (piscina ${sbs['piscina']!.loadedP99Ratio} x, workerpool ${sbs['workerpool']!.loadedP99Ratio} x)`, lane.loadedP99Ratio! <= 2);
  }
  return targets;
}

function sideBySideTable(sbs: Record<string, LaneFigures>): string[] {
  const cols = ['bare', 'piscina', 'workerpool', 'slowlane pool', 'slowlane fork'];
  const bare = sbs['bare']!.fast!;
  const cell = (name: string, value: number | undefined, ratioTo?: number) => (value === undefined ? '-' : ratioTo === undefined || name === 'bare' ? String(value) : `${value} (${round(value / ratioTo)}x)`);
  const row = (label: string, pick: (f: LaneFigures) => number | undefined, ratioTo?: number) =>
    `| ${label} | ${cols.map((c) => cell(c, pick(sbs[c]!), ratioTo)).join(' | ')} |`;
  return [
    `| figure | ${cols.join(' | ')} |`,
    `| --- | ${cols.map(() => '---').join(' | ')} |`,
    row('/fast req/s, 32 connections (median of rounds; slowlane with its access log on)', (f) => f.fast?.rps, bare.rps),
    row('/fast req/s, access log off', (f) => (f.fastQuiet ?? (f === sbs['bare'] ? f.fast : undefined))?.rps, bare.rps),
    row('/fast p99 under that load, ms', (f) => f.fast?.p99, bare.p99),
    row('server CPU per /fast request, us', (f) => f.fast?.cpuUsPerRequest, bare.cpuUsPerRequest),
    row('wrk -t1 -c32: /fast req/s (slowlane with its log on)', (f) => f.wrk?.rps, sbs['bare']!.wrk?.rps),
    row('wrk: /fast req/s, access log off', (f) => (f.wrkQuiet ?? (f === sbs['bare'] ? f.wrk : undefined))?.rps, sbs['bare']!.wrk?.rps),
    row('wrk: /fast p99, ms', (f) => f.wrk?.p99, sbs['bare']!.wrk?.p99),
    row('wrk: server CPU per /fast request, us (log on)', (f) => f.wrk?.cpuUsPerRequest, sbs['bare']!.wrk?.cpuUsPerRequest),
    row('wrk: server CPU per /fast request, us (log off)', (f) => (f.wrkQuiet ?? (f === sbs['bare'] ? f.wrk : undefined))?.cpuUsPerRequest, sbs['bare']!.wrk?.cpuUsPerRequest),
    row(`/fast max, idle closed loop (${SEQUENTIAL} requests), ms`, (f) => f.idleMax),
    row('offload added p50 over /fast, n=0, ms', (f) => f.offloadP50),
    row(`8 slow at once, speedup (ideal ${CORES})`, (f) => f.speedup?.speedup),
    row('/fast p99 ratio, 2 slow in flight / idle', (f) => f.loadedP99Ratio),
  ];
}

function report(machine: Record<string, unknown>, r: Record<string, any>, targets: Target[]): string {
  const lines: string[] = [];
  lines.push(`Machine: ${machine['cores']} cores, ${machine['cpu']}, Node ${machine['node']}, load average ${(machine['loadavg'] as number[]).join(' ')}${QUICK ? ' (QUICK run)' : ''}`, '');
  lines.push('Side by side, one run, same node:http contract (slowlane\'s two lanes are one server, so its /fast figures are shared):', '');
  lines.push(...sideBySideTable(r['sideBySide']), '');
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
  lines.push('', `Reports (2 report requests over a year of one region kept in flight while 4 connections load /fast for ${WINDOW_S} s; then the route alone at 4 connections; ms):`, '');
  lines.push('| route | /fast req/s | /fast p50 | /fast p99 | /fast max | reports/s alone (4 connections) |', '| --- | --- | --- | --- | --- | --- |');
  const idleFast = r['fastUnderSlow'].idle;
  lines.push(`| (idle) | ${idleFast.rps} | ${idleFast.fast.p50} | ${idleFast.fast.p99} | ${idleFast.fast.max} | |`);
  for (const [route, v] of Object.entries<any>(r['reports'])) lines.push(`| /${route} | ${v.fastRps} | ${v.fastP50} | ${v.fastP99} | ${v.fastMax} | ${v.reportsPerSecond} |`);
  lines.push('', `Reset storm (4 clients open /slow_threaded?n=${N} and reset it after 30 ms, ${STORM_S} s, /fast load beside it; ms):`, '');
  lines.push('| server | /fast p99 idle | /fast p99 in the storm | ratio | /fast max | /fast req/s | slow requests opened | children started | starts deferred |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const [label, v] of Object.entries<any>(r['resetStorm'])) lines.push(`| ${label} | ${v.idleP99} | ${v.stormP99} | ${v.p99Ratio} | ${v.stormMax} | ${v.rps} | ${v.opened} | ${v.started} | ${v.startsDeferred} |`);
  lines.push('', 'Children\'s niceness vs fast p99 / idle p99, 2 slow in flight:', '');
  lines.push('| niceness | /slow_threaded | /slow_pool |', '| --- | --- | --- |');
  for (const [nice, v] of Object.entries<any>(r['nicenessP99Ratio'])) lines.push(`| ${nice} | ${v.slow_threaded} | ${v.slow_pool} |`);
  lines.push('', 'A big server\'s event loop during 10 runs with a process per task (ms):', '');
  lines.push('| server RSS MiB | children started by | 10 runs | loop delay max |', '| --- | --- | --- | --- |');
  for (const row of r['spawnStall'] as StallRow[]) lines.push(`| ${row.rssMib} | ${row.mode === 'fork' ? 'fork() in the server' : 'the spawner'} | ${row.runsMs} | ${row.loopDelayMaxMs} |`);
  if (r['nicenessCost'] !== undefined) {
    lines.push('', 'What niceness costs the slow work: 4 heavyLifting(2000) in a pool of 2, ms, alone and beside 2 busy-looping processes at niceness 0:', '');
    lines.push('| niceness | alone | competing |', '| --- | --- | --- |');
    for (const nice of Object.keys(r['nicenessCost'].alone)) lines.push(`| ${nice} | ${r['nicenessCost'].alone[nice]} | ${r['nicenessCost'].competing[nice]} |`);
  }
  return `${lines.join('\n')}\n`;
}

await main();
