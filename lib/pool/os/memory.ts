// A child's resident memory, read from /proc by the parent: it counts Buffers
// and typed arrays (V8's heap limit does not), and it can be read while the
// child's own loop is blocked in a task.
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** RSS in MiB, or undefined when the process is gone or /proc cannot tell. */
export function readRssMb(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? undefined : Number(match[1]) / 1024;
  } catch {
    return undefined;
  }
}

/** The processes `pid` started (from every one of its threads), or none if it is gone. */
function childrenOf(pid: number): number[] {
  const found: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const list = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (list !== '') for (const child of list.split(' ')) found.push(Number(child));
    }
  } catch {
    // Gone, or a kernel without CONFIG_PROC_CHILDREN: the process alone counts.
  }
  return found;
}

/**
 * RSS in MiB of a child and everything it started (ImageMagick, a shell and
 * its programs), or undefined when the child itself is gone: a cap on the
 * child alone would let a task's own programs take what they like.
 */
export function readTreeRssMb(pid: number): number | undefined {
  const own = readRssMb(pid);
  if (own === undefined) return undefined;
  let total = own;
  const pending = childrenOf(pid);
  // Bounded: a fork bomb under a child must not stall this loop.
  for (let seen = 0; pending.length > 0 && seen < 1000; seen += 1) {
    const next = pending.pop()!;
    total += readRssMb(next) ?? 0;
    pending.push(...childrenOf(next));
  }
  return total;
}

/** Memory limits need /proc (Linux): refused at construction where it is missing. */
export function assertCanReadMemory(maxMemoryMb: number, recycleMemoryMb: number): void {
  if ((maxMemoryMb !== Infinity || recycleMemoryMb !== Infinity) && !canReadRss()) {
    throw new RangeError('options maxMemoryMb and recycleMemoryMb need /proc (Linux) to read a child\'s memory; leave them out on this system');
  }
}

/** Memory limits need /proc (Linux). */
export const canReadRss = (): boolean => existsSync(`/proc/${process.pid}/status`);
