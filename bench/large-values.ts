// One large value across the boundary, each way: a 10 MB Buffer and a 10 MB
// string as argument and as result, through one slowlane child (on the IPC
// channel with V8 serialization, the default; and through /dev/shm with
// sharedMemoryBytes: 1 MiB) and one piscina thread (structured clone in one
// process), p50 of 20 calls each, in the same run.
import { Piscina } from 'piscina';
import { ChildPool } from '../lib/index.js';
import { round, summarize } from './numbers.js';

const MB10 = 10 * 1024 * 1024;
const TASKS = new URL('./large-tasks.js', import.meta.url);
type Tasks = typeof import('./large-tasks.js');

export interface LargeRow {
  case: string;
  slowlaneP50: number;
  /** The same through /dev/shm (sharedMemoryBytes: 1 MiB). */
  sharedP50: number;
  piscinaP50: number;
  ratio: number;
}

async function p50(calls: number, call: () => Promise<unknown>): Promise<number> {
  await call(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < calls; i += 1) {
    const started = performance.now();
    await call();
    times.push(performance.now() - started);
  }
  return round(summarize(times).p50);
}

export async function largeValues(calls = 20): Promise<LargeRow[]> {
  const pool = new ChildPool<Tasks>({ tasks: TASKS, minChildren: 1, maxChildren: 1, spares: 0 });
  const shared = new ChildPool<Tasks>({ tasks: TASKS, minChildren: 1, maxChildren: 1, spares: 0, sharedMemoryBytes: 1024 * 1024 });
  const piscina = new Piscina({ filename: TASKS.href, minThreads: 1, maxThreads: 1 });
  await Promise.all([pool.ready(), shared.ready()]);
  const buffer = Buffer.alloc(MB10, 1);
  const text = 'x'.repeat(MB10);
  const cases: Array<[string, (via: ChildPool<Tasks>) => Promise<unknown>, () => Promise<unknown>]> = [
    ['10 MB Buffer result', (via) => via.run('bufferOf', [MB10]), () => piscina.run(MB10, { name: 'bufferOf' })],
    ['10 MB string result', (via) => via.run('stringOf', [MB10]), () => piscina.run(MB10, { name: 'stringOf' })],
    ['10 MB Buffer argument', (via) => via.run('sizeOf', [buffer]), () => piscina.run(buffer, { name: 'sizeOf' })],
    ['10 MB string argument', (via) => via.run('sizeOf', [text]), () => piscina.run(text, { name: 'sizeOf' })],
  ];
  const rows: LargeRow[] = [];
  try {
    for (const [name, viaPool, viaPiscina] of cases) {
      const slowlaneP50 = await p50(calls, () => viaPool(pool));
      const sharedP50 = await p50(calls, () => viaPool(shared));
      const piscinaP50 = await p50(calls, viaPiscina);
      rows.push({ case: name, slowlaneP50, sharedP50, piscinaP50, ratio: round(slowlaneP50 / piscinaP50) });
    }
  } finally {
    await Promise.all([pool.close(), shared.close(), piscina.destroy()]);
  }
  return rows;
}
