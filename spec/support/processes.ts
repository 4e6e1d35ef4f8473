// Finds the child processes slowlane starts, by their command line, so tests
// can check that none outlives what should end it.
import { readdirSync, readFileSync } from 'node:fs';

const ENTRY = 'dist/lib/pool/child-entry.js';

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

/** Every live slowlane child process of this checkout, optionally only those of one parent or mode. */
export function slowlaneChildren(filter: { parent?: number; mode?: 'per-task' | 'warm' } = {}): ProcInfo[] {
  const found: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const info = readProc(Number(name));
    if (info === undefined || !info.args.some((arg) => arg.endsWith(ENTRY))) continue;
    if (filter.parent !== undefined && info.ppid !== filter.parent) continue;
    if (filter.mode !== undefined && (info.args.at(-1) === '1') !== (filter.mode === 'per-task')) continue;
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
