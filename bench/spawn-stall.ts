// Issue 22's measurement: how long a child start stalls a server that holds
// a lot of memory. A process makes its pool (which starts the spawner, while
// the process is still small), fills `mib` MiB of Buffers, then runs 10 tasks
// through a pool with a process per task, reading its own event-loop delay
// with monitorEventLoopDelay. Run as: node dist/bench/spawn-stall.js MIB spawner|fork
import { spawn } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ChildPool } from '../lib/pool/child-pool.js';
import { DEMO_TASKS } from '../lib/demo/start.js';
import { round } from './numbers.js';

export interface StallRow {
  mib: number;
  mode: 'spawner' | 'fork';
  rssMib: number;
  runsMs: number;
  loopDelayMaxMs: number;
}

async function measureHere(mib: number, mode: 'spawner' | 'fork'): Promise<StallRow> {
  const pool = new ChildPool({ tasks: DEMO_TASKS, tasksPerChild: 1, maxChildren: 2, spares: 0, spawner: mode === 'spawner' });
  await pool.run('heavyLifting', [0]); // the spawner (if any) and the first child start now, small
  const hoard: Buffer[] = [];
  for (let i = 0; i < mib; i += 1) hoard.push(Buffer.alloc(1024 * 1024, i % 251));
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const t0 = performance.now();
  for (let i = 0; i < 10; i += 1) await pool.run('heavyLifting', [0]);
  const runsMs = performance.now() - t0;
  delay.disable();
  await pool.destroy();
  const row = { mib, mode, rssMib: Math.round(process.memoryUsage().rss / 1024 / 1024), runsMs: Math.round(runsMs), loopDelayMaxMs: round(delay.max / 1e6) };
  hoard.length = 0;
  return row;
}

/** Each row in a process of its own, so one row's heap never weighs on the next. */
export async function spawnStall(sizes: readonly number[]): Promise<StallRow[]> {
  const rows: StallRow[] = [];
  for (const mib of sizes) {
    for (const mode of ['fork', 'spawner'] as const) {
      const child = spawn(process.execPath, [fileURLToPath(import.meta.url), String(mib), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      await new Promise((resolve) => child.once('exit', resolve));
      rows.push(JSON.parse(out) as StallRow);
    }
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [mib, mode] = process.argv.slice(2);
  if (mode === 'spawner' || mode === 'fork') console.log(JSON.stringify(await measureHere(Number(mib), mode)));
  else for (const row of await spawnStall([0, 1024, 2048, 4096])) console.log(JSON.stringify(row));
}
