// Each child leads a process group of its own, and whatever a task starts
// (ImageMagick, ffmpeg, a shell) joins that group. While the server lives,
// it signals whole groups. When the server dies however it dies (a SIGKILL
// included), PR_SET_PDEATHSIG ends the children, but not what they started:
// those would be reparented to init and run on. So one small shell, started
// once per server process, holds the list of live groups and reads a pipe
// from the server; the kernel closes that pipe when the server dies, and the
// shell then kills every group still listed. It costs one `sh` (about 1 MiB)
// per server, never per child, and nothing while the server lives.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';

/** What a worker needs of the guard. */
export interface GroupGuard {
  /** A new child leads this process group: kill it if the server dies. */
  add(pgid: number): void;
  /** The group is gone (its leader exited and what was left of it was killed). */
  remove(pgid: number): void;
  /** No pool needs the guard now: its shell leaves once no group is listed (the next add() starts another). */
  retire?(): void;
}

// dash/ash/bash alike: one variable per live group, so removing one costs
// nothing; at end of input (the server is gone) each listed group gets SIGKILL.
// `x` is a retirement (no pool is left): the shell just leaves.
// Signals from a terminal are ignored: the guard ends only with its pipe.
export const GUARD_SCRIPT = [
  "trap '' INT TERM HUP",
  'while read -r op id; do',
  '  case "$op" in',
  '    +) eval "g_$id=1" ;;',
  '    -) unset "g_$id" ;;',
  '    x) exit 0 ;;',
  '  esac',
  'done',
  'for id in $(set | sed -n "s/^g_\\([0-9]*\\)=.*/\\1/p"); do kill -s KILL -- "-$id" 2>/dev/null; done',
  // Values the server's children were passing through shared memory (wire/shared-memory.ts) go with it.
  'rm -f /dev/shm/slowlane-"$PPID"-* 2>/dev/null',
].join('\n');

const SHELL = '/bin/sh';

type Spawn = (command: string, args: readonly string[], options: { stdio: ['pipe', 'ignore', 'ignore']; detached: true }) => ChildProcess;

/** Starts its shell on the first add(); where there is no /bin/sh (not Unix), it does nothing. */
export class ShellGroupGuard implements GroupGuard {
  #shell: ChildProcess | undefined;
  /** The groups listed in the shell: it may leave only when none is. */
  readonly #groups = new Set<number>();
  #retiring = false;
  readonly #spawn: Spawn;
  readonly #available: boolean;

  constructor(spawnFn: Spawn = spawn as Spawn, available = process.platform !== 'win32' && existsSync(SHELL)) {
    this.#spawn = spawnFn;
    this.#available = available;
  }

  add(pgid: number): void {
    this.#retiring = false;
    this.#groups.add(pgid);
    this.#write(`+ ${pgid}\n`);
  }

  remove(pgid: number): void {
    this.#groups.delete(pgid);
    if (this.#shell !== undefined) this.#write(`- ${pgid}\n`);
    if (this.#retiring) this.retire();
  }

  retire(): void {
    this.#retiring = true;
    const shell = this.#shell;
    if (shell === undefined || this.#groups.size > 0) return;
    this.#shell = undefined;
    this.#retiring = false;
    // Said, not just the end of input: the server lives on, and the files its next pool's children share must stay.
    shell.stdin?.end('x\n');
  }

  #write(line: string): void {
    if (!this.#available) return;
    try {
      const shell = (this.#shell ??= this.#start());
      if (shell.stdin?.writable) shell.stdin.write(line);
    } catch {
      // spawn() throws on ENOMEM: no guard this time, and the child still runs (the next start tries again).
      this.#shell = undefined;
    }
  }

  #start(): ChildProcess {
    // A session of its own: a terminal's Ctrl-C reaches the server, which
    // ends its children itself; the guard must outlive that to do its job.
    const shell = this.#spawn(SHELL, ['-c', GUARD_SCRIPT], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    // Neither the guard nor its pipe keeps this process alive.
    shell.unref();
    const stdin = shell.stdin as Socket | null;
    stdin?.unref();
    const forget = (): void => {
      // Killed from outside: the next child starts another guard.
      if (this.#shell === shell) this.#shell = undefined;
    };
    shell.on('error', forget);
    shell.on('exit', forget);
    // EPIPE if the guard died: never an uncaught error here.
    stdin?.on('error', forget);
    return shell;
  }
}

/** One guard per server process, shared by every pool in it. */
export const processGroupGuard = new ShellGroupGuard();

/** Signals a whole process group; false if there is none (already gone). */
export function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}
