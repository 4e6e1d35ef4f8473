// What a library pool of 2 costs the machine while idle, after one run on
// each worker: slowlane's whole process tree (the script, its spawner, its
// group guard and the 2 children) against piscina's one process with 2
// threads. RSS counts the pages each node process maps from the node binary
// and its libraries once per process; anonymous RSS is what each holds of its
// own. Each side runs in a fresh process, one after the other:
//   node dist/bench/footprint.js
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { round } from './numbers.js';

const TASKS = new URL('./large-tasks.js', import.meta.url);
/** Long enough for start-up garbage to be collected and spares to settle. */
const SETTLE_MS = 2000;

export interface Footprint {
  processes: number;
  rssMb: number;
  /**
   * Anonymous RSS (heaps, stacks): what the tree holds of its own. The rest
   * of RSS is mostly the node binary's and its libraries' pages, which the
   * page cache holds once for every node process on the machine.
   */
  anonMb: number;
  /** RSS of each process, the script first. */
  eachRssMb: number[];
}

/** A /proc field in kB, as MiB (0 if the process is gone). */
function procKb(path: string, field: string): number {
  try {
    const line = readFileSync(path, 'utf8').split('\n').find((each) => each.startsWith(`${field}:`));
    return line === undefined ? 0 : Number(line.split(/\s+/)[1]) / 1024;
  } catch {
    return 0;
  }
}

function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // The field after the command, which may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parents.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const visit = (parent: number): void => {
    for (const [child, ppid] of parents) if (ppid === parent) found.push(child), visit(child);
  };
  visit(pid);
  return found;
}

function treeOf(pid: number): Footprint {
  const pids = [pid, ...descendants(pid)];
  const sum = (field: string): number => round(pids.reduce((total, each) => total + procKb(`/proc/${each}/status`, field), 0), 1);
  return { processes: pids.length, rssMb: sum('VmRSS'), anonMb: sum('RssAnon'), eachRssMb: pids.map((each) => round(procKb(`/proc/${each}/status`, 'VmRSS'), 1)) };
}

async function measureSlowlane(): Promise<Footprint> {
  const { ChildPool } = await import('../lib/index.js');
  const pool = new ChildPool({ tasks: TASKS, minChildren: 2, maxChildren: 2 });
  await pool.ready();
  await Promise.all([pool.run('noop', []), pool.run('noop', [])]);
  await sleep(SETTLE_MS);
  const figures = treeOf(process.pid);
  await pool.close();
  return figures;
}

async function measurePiscina(): Promise<Footprint> {
  const { Piscina } = await import('piscina');
  const pool = new Piscina({ filename: TASKS.href, minThreads: 2, maxThreads: 2 });
  await Promise.all([pool.run(undefined, { name: 'noop' }), pool.run(undefined, { name: 'noop' })]);
  await sleep(SETTLE_MS);
  const figures = treeOf(process.pid);
  await pool.destroy();
  return figures;
}

/** Both, each in a fresh node process. */
export function footprints(): { slowlane: Footprint; piscina: Footprint } {
  const run = (side: string): Footprint => JSON.parse(execFileSync(process.execPath, [new URL(import.meta.url).pathname, side], { encoding: 'utf8' })) as Footprint;
  return { slowlane: run('slowlane'), piscina: run('piscina') };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const side = process.argv[2];
  if (side === 'slowlane') console.log(JSON.stringify(await measureSlowlane()));
  else if (side === 'piscina') console.log(JSON.stringify(await measurePiscina()));
  else console.log(JSON.stringify(footprints()));
}
