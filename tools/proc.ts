// Reads /proc: slowlane's children by their command line (so tests can check
// that none outlives what should end it), a process's children and memory.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { readRssMb } from '../lib/pool/os/memory.js';

/** The child program of this checkout's build, so another checkout's children are never counted. */
const ENTRY = new URL('../lib/pool/in-child/entry.js', import.meta.url).pathname;
/** The spawner program: with the spawner on, a pool's children are the spawner's, and the spawner is the pool's process's. */
const SPAWNER = new URL('../lib/pool/launch/spawner/spawner-entry.js', import.meta.url).pathname;

export interface ProcInfo {
  pid: number;
  ppid: number;
  args: string[];
}

function readProc(pid: number): ProcInfo | undefined {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The field after the parenthesised name is the state, then the ppid.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return { pid, ppid, args };
  } catch {
    return undefined; // gone between listing and reading
  }
}

/** The spawner processes of this checkout's build: pid to parent pid. */
function spawners(): Map<number, number> {
  const found = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const info = readProc(Number(name));
    if (info !== undefined && info.args.includes(SPAWNER)) found.set(info.pid, info.ppid);
  }
  return found;
}

/** Every live spawner process of this checkout, optionally only that of one parent. */
export function slowlaneSpawners(filter: { parent?: number } = {}): ProcInfo[] {
  return [...spawners()].filter(([, ppid]) => filter.parent === undefined || ppid === filter.parent).map(([pid, ppid]) => ({ pid, ppid, args: [SPAWNER] }));
}

/** The group-guard shells (lib/pool/os/group-guard.ts) whose parent is `parent`. */
export function groupGuards(parent: number): ProcInfo[] {
  const found: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const info = readProc(Number(name));
    if (info?.ppid === parent && info.args[1] === '-c' && info.args[2]?.startsWith("trap '' INT TERM HUP")) found.push(info);
  }
  return found;
}

/**
 * Every live slowlane child process of this checkout, optionally only those
 * of one parent (started by it, or by its spawner) or mode.
 */
export function slowlaneChildren(filter: { parent?: number; mode?: 'per-task' | 'warm' } = {}): ProcInfo[] {
  const found: ProcInfo[] = [];
  const viaSpawner = filter.parent === undefined ? new Map<number, number>() : spawners();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const info = readProc(Number(name));
    if (info === undefined || !info.args.includes(ENTRY)) continue;
    if (filter.parent !== undefined && info.ppid !== filter.parent && viaSpawner.get(info.ppid) !== filter.parent) continue;
    if (filter.mode !== undefined && (info.args[info.args.indexOf(ENTRY) + 2] === '1') !== (filter.mode === 'per-task')) continue;
    found.push(info);
  }
  return found;
}

/** True while the process runs. A zombie has exited (only its parent's reaping is left), so it counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Waits until `check` holds, looking every 20 ms; false if it still does not after `withinMs`. */
export async function eventually(check: () => boolean, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** utime, stime, cutime, cstime of a process, in clock ticks; zeros once it is gone. */
function cpuFields(pid: number): number[] {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ').slice(11, 15).map(Number);
  } catch {
    return [0, 0, 0, 0];
  }
}

/** CPU time the process has used so far, in clock ticks (utime + stime). */
export function cpuTicks(pid: number): number {
  const [utime = 0, stime = 0] = cpuFields(pid);
  return utime + stime;
}

/** CPU ticks of a process plus those of its children it has reaped (cutime, cstime): a whole lane's cost. */
export function cpuTicksWithReaped(pid: number): number {
  return cpuFields(pid).reduce((sum, ticks) => sum + ticks, 0);
}

/**
 * CPU ticks of a process and of every live process below it, each with what
 * it has reaped: a lane's whole cost when its children are a spawner's, whose
 * reaped children the server's own cutime never sees.
 */
export function treeCpuTicks(pid: number): number {
  let ticks = 0;
  const visit = (each: number): void => {
    ticks += cpuTicksWithReaped(each);
    for (const child of childrenOf(each)) visit(child);
  };
  visit(pid);
  return ticks;
}

/** True when `pid` descends from `ancestor` (its parent, its parent's parent, ...). */
export function descendsFrom(pid: number, ancestor: number): boolean {
  for (let current = readProc(pid)?.ppid, hops = 0; current !== undefined && current > 1 && hops < 64; current = readProc(current)?.ppid, hops += 1) {
    if (current === ancestor) return true;
  }
  return false;
}

/** Pids whose parent is `pid`. */
export function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    if (readProc(Number(name))?.ppid === pid) found.push(Number(name));
  }
  return found;
}

/** Open descriptors of a process whose file's path passes `matches` (a database file, or it and its -wal and -shm). */
export function descriptorsOn(pid: number | 'self', matches: (path: string) => boolean): number {
  let count = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (matches(readlinkSync(`/proc/${pid}/fd/${fd}`))) count += 1;
    } catch {
      // closed while we looked
    }
  }
  return count;
}

/** RSS of a process and its direct children, in MiB. */
export function treeRssMb(pid: number): { total: number; server: number; children: number[] } {
  const server = (readRssMb(pid) ?? 0);
  const children = childrenOf(pid).map((child) => (readRssMb(child) ?? 0));
  return { total: server + children.reduce((a, b) => a + b, 0), server, children };
}
