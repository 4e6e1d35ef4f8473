// A child's CPU priority. Each child runs in a session of its own (so a
// terminal's Ctrl-C does not reach it), and on Linux with autogroup scheduling a new session
// is a new scheduler group: niceness then ranks threads only inside that
// group, and the group itself competes as an equal with the server's. So the
// group gets the same niceness as the process: together they yield the CPU
// to the server as one nice process would.
import { writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';

/** Best effort: never throws (the child may already be gone). */
export function lowerPriority(pid: number, niceness: number): void {
  try {
    setPriority(pid, niceness);
  } catch {
    return;
  }
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(niceness));
  } catch {
    // No autogroup scheduling here (another OS, or it is off): niceness alone does it.
  }
}
