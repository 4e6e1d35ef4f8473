// What a run costs by itself: a no-op task through a pool of 2 children at
// niceness 0, one at a time (p50 and p95 of 2 000 after 500 warm-up runs)
// and 20 000 with 64 in flight (tasks/s). Given another build's
// dist/lib/index.js, it measures that build instead, so two builds can be
// compared in one sitting:
//   node dist/bench/noop-runs.js [/path/to/other/dist/lib/index.js]
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { round, summarize } from './numbers.js';

const TASKS = new URL('./large-tasks.js', import.meta.url);

interface PoolLike {
  ready(): Promise<void>;
  run(task: string, args: unknown[]): Promise<unknown>;
  close(): Promise<void>;
}

export async function noopRuns(libUrl = new URL('../lib/index.js', import.meta.url).href): Promise<{ p50: number; p95: number; tasksPerSecond: number }> {
  const { ChildPool } = (await import(libUrl)) as { ChildPool: new (options: object) => PoolLike };
  const pool = new ChildPool({ tasks: TASKS, minChildren: 2, maxChildren: 2, niceness: 0 });
  try {
    await pool.ready();
    for (let i = 0; i < 500; i += 1) await pool.run('noop', []);
    const times: number[] = [];
    for (let i = 0; i < 2000; i += 1) {
      const started = performance.now();
      await pool.run('noop', []);
      times.push(performance.now() - started);
    }
    const total = 20_000;
    let sent = 0;
    const started = performance.now();
    await Promise.all(Array.from({ length: 64 }, async () => {
      while (sent < total) {
        sent += 1;
        await pool.run('noop', []);
      }
    }));
    const { p50, p95 } = summarize(times);
    return { p50: round(p50, 3), p95: round(p95, 3), tasksPerSecond: Math.round(total / ((performance.now() - started) / 1000)) };
  } finally {
    await pool.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const other = process.argv[2];
  console.log(JSON.stringify(await noopRuns(other === undefined ? undefined : pathToFileURL(resolve(other)).href)));
}
