// What niceness costs the offloaded work itself. Against the server's own
// event loop it is a gain (the fast rows of make bench); against another
// CPU-bound process on the box it is a loss: a niceness-19 child gets a
// small share of a core that process also wants. Measured here: 4 tasks at
// once in a pool of 2 while 2 busy-looping processes (niceness 0) compete.
import { spawn, type ChildProcess } from 'node:child_process';
import { ChildPool } from '../lib/pool/child-pool.js';
import { DEMO_TASKS } from '../lib/demo/start.js';
import { round, summarize } from './numbers.js';

export interface NicenessCost {
  /** Wall time of the 4 tasks, p50 over the rounds, with and without competition, per niceness. */
  alone: Record<string, number>;
  competing: Record<string, number>;
}

const N = 2000; // heavyLifting(2000), the demo's default: about half a second of CPU on this box

async function fourTasks(niceness: number): Promise<number> {
  const pool = new ChildPool({ tasks: DEMO_TASKS, minChildren: 2, maxChildren: 2, spares: 0, niceness });
  try {
    await pool.ready();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 4 }, () => pool.run('heavyLifting', [N])));
    return performance.now() - t0;
  } finally {
    await pool.destroy();
  }
}

function competitors(count: number): ChildProcess[] {
  return Array.from({ length: count }, () => spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' }));
}

export async function nicenessCost(rounds: number, nicenesses: readonly number[] = [0, 19]): Promise<NicenessCost> {
  const result: NicenessCost = { alone: {}, competing: {} };
  for (const competing of [false, true]) {
    const hogs = competing ? competitors(2) : [];
    try {
      for (const nice of nicenesses) {
        const times: number[] = [];
        for (let i = 0; i < rounds; i += 1) times.push(await fourTasks(nice));
        (competing ? result.competing : result.alone)[String(nice)] = round(summarize(times).p50, 0);
      }
    } finally {
      for (const hog of hogs) hog.kill('SIGKILL');
    }
  }
  return result;
}

// Run on its own: node dist/bench/niceness-cost.js
if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await nicenessCost(Number(process.env['ROUNDS'] ?? 3)), null, 2));
