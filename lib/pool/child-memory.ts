// A child's resident memory, read from /proc by the parent: it counts Buffers
// and typed arrays (V8's heap limit does not), and it can be read while the
// child's own loop is blocked in a task.
import { existsSync, readFileSync } from 'node:fs';

/** RSS in MiB, or undefined when the process is gone or /proc cannot tell. */
export function readRssMb(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? undefined : Number(match[1]) / 1024;
  } catch {
    return undefined;
  }
}

/** Memory limits need /proc (Linux). */
export const canReadRss = (): boolean => existsSync(`/proc/${process.pid}/status`);
