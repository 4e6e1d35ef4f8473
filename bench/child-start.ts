// What one child costs from fork() to ready: the parent's loop blocked in
// fork(), the wall time until the child says ready, and the CPU the child
// burned getting there. The fork lane pays this once per request.
import { ChildPool } from '../lib/pool/child-pool.js';
import { DEMO_TASKS } from '../lib/demo/start.js';
import { cpuTicks, slowlaneChildren } from '../tools/proc.js';
import { round, summarize } from './numbers.js';

export interface StartCost {
  forkBlocksMs: number;
  readyMs: number;
  childCpuMs: number;
}

export async function childStartCost(samples: number, spawner = true): Promise<StartCost> {
  const fork: number[] = [];
  const ready: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < samples; i += 1) {
    const before = new Set(slowlaneChildren({ parent: process.pid }).map((c) => c.pid));
    const t0 = performance.now();
    const pool = new ChildPool({ tasks: DEMO_TASKS, minChildren: 1, maxChildren: 1, spares: 0, spawner });
    fork.push(performance.now() - t0);
    await pool.ready();
    ready.push(performance.now() - t0);
    const child = slowlaneChildren({ parent: process.pid }).find((c) => !before.has(c.pid));
    if (child !== undefined) cpu.push(cpuTicks(child.pid) * 10);
    await pool.destroy();
  }
  return { forkBlocksMs: round(summarize(fork).p50), readyMs: round(summarize(ready).p50), childCpuMs: round(summarize(cpu).p50) };
}
