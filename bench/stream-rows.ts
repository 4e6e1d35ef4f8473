// A generator that yields one CSV row at a time against the same rows in
// 32 KiB batches, read through pool.stream() with the pool's defaults: what a
// report export costs when its author yields rows as they come. Median of
// `rounds` alternated runs of 100 000 rows each.
import { ChildPool } from '../lib/index.js';
import { round, summarize } from './numbers.js';

const TASKS = new URL('./large-tasks.js', import.meta.url);
type Tasks = typeof import('./large-tasks.js');

export interface StreamRows {
  rows: number;
  perRowMs: number;
  batchedMs: number;
  ratio: number;
}

async function timed(pool: ChildPool<Tasks>, task: 'csvRows' | 'csvBatches', rows: number): Promise<number> {
  const started = performance.now();
  let bytes = 0;
  for await (const chunk of pool.stream(task, [rows])) bytes += chunk.length;
  if (bytes === 0) throw new Error(`${task} produced nothing`);
  return performance.now() - started;
}

export async function streamRows(rounds = 5, rows = 100_000): Promise<StreamRows> {
  const pool = new ChildPool<Tasks>({ tasks: TASKS, minChildren: 1, maxChildren: 1, spares: 0, niceness: 0 });
  try {
    await pool.ready();
    await timed(pool, 'csvBatches', rows); // warm-up
    const perRow: number[] = [];
    const batched: number[] = [];
    for (let i = 0; i < rounds; i += 1) {
      perRow.push(await timed(pool, 'csvRows', rows));
      batched.push(await timed(pool, 'csvBatches', rows));
    }
    const perRowMs = round(summarize(perRow).p50, 1);
    const batchedMs = round(summarize(batched).p50, 1);
    return { rows, perRowMs, batchedMs, ratio: round(perRowMs / batchedMs) };
  } finally {
    await pool.close();
  }
}
