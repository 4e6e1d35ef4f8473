// What a run costs by itself: a no-op task through 2 workers, one at a time
// (p50 and p95 of 2 000 after 2 000 warm-up runs, as the issue measured the pool lane: the JIT needs about that many to settle, see docs/performance.md) and 20 000 with 64 in flight
// (tasks/s): slowlane's pool (2 children at niceness 0; by default, and with
// prefetch 8), piscina (2 threads) and workerpool (2 processes), one after
// the other in the same run. Given
// another build's dist/lib/index.js, it measures that build's pool alone, so
// two builds can be compared in one sitting:
//   node dist/bench/noop-runs.js [/path/to/other/dist/lib/index.js]
import { Piscina } from 'piscina';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import workerpool from 'workerpool';
import { round, summarize } from './numbers.js';

const TASKS = new URL('./large-tasks.js', import.meta.url);
const WORKERPOOL_WORKER = new URL('./peers/workerpool-worker.js', import.meta.url).pathname;

export interface NoopFigures {
  p50: number;
  p95: number;
  tasksPerSecond: number;
}

interface PoolLike {
  ready(): Promise<void>;
  run(task: string, args: unknown[]): Promise<unknown>;
  close(): Promise<void>;
}

/** Runs before timing, for each pool alike: after 500, slowlane's p95 was 0.34-0.45 ms; after 2 000, 0.11-0.12; after 6 000, 0.09-0.10. */
const WARM_UP_RUNS = 2000;

async function measure(run: () => Promise<unknown>): Promise<NoopFigures> {
  for (let i = 0; i < WARM_UP_RUNS; i += 1) await run();
  const times: number[] = [];
  for (let i = 0; i < 2000; i += 1) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  const total = 20_000;
  let sent = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (sent < total) {
      sent += 1;
      await run();
    }
  }));
  const { p50, p95 } = summarize(times);
  return { p50: round(p50, 3), p95: round(p95, 3), tasksPerSecond: Math.round(total / ((performance.now() - started) / 1000)) };
}

/** Runs a child may hold for the prefetch figure: past 8 the gain flattens here. */
export const BENCH_PREFETCH = 8;

export async function slowlaneNoop(libUrl = new URL('../lib/index.js', import.meta.url).href, more: object = {}): Promise<NoopFigures> {
  const { ChildPool } = (await import(libUrl)) as { ChildPool: new (options: object) => PoolLike };
  const pool = new ChildPool({ tasks: TASKS, minChildren: 2, maxChildren: 2, niceness: 0, ...more });
  try {
    await pool.ready();
    return await measure(() => pool.run('noop', []));
  } finally {
    await pool.close();
  }
}

export async function noopRuns(): Promise<{ slowlane: NoopFigures; prefetch: NoopFigures; piscina: NoopFigures; workerpool: NoopFigures }> {
  const slowlane = await slowlaneNoop();
  const prefetch = await slowlaneNoop(undefined, { prefetch: BENCH_PREFETCH });
  const threads = new Piscina({ filename: TASKS.href, minThreads: 2, maxThreads: 2 });
  const piscina = await measure(() => threads.run(undefined, { name: 'noop' })).finally(() => threads.destroy());
  const processes = workerpool.pool(WORKERPOOL_WORKER, { workerType: 'process', minWorkers: 2, maxWorkers: 2 });
  const workerpoolFigures = await measure(() => processes.exec('noop', [])).finally(() => processes.terminate());
  return { slowlane, prefetch, piscina, workerpool: workerpoolFigures };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const other = process.argv[2];
  console.log(JSON.stringify(other === undefined ? await noopRuns() : await slowlaneNoop(pathToFileURL(resolve(other)).href)));
}
