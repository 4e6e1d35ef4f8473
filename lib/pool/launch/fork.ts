// Starting a child process and copying its output: what a ChildWorker needs
// of node:child_process, and the fake a unit test hands in instead.
import { EventEmitter } from 'node:events';
import type { ForkOptions } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { Launcher } from '../os/parent-death.js';
import type { ParentMessage } from '../wire/protocol.js';

/** The part of a ChildProcess a worker uses; lets unit tests hand in a fake. */
export interface ChildLike extends EventEmitter {
  readonly pid?: number | undefined;
  readonly stdout?: Readable | null;
  readonly stderr?: Readable | null;
  send(message: ParentMessage, callback?: (error: Error | null) => void): boolean;
  kill(signal?: NodeJS.Signals | number): boolean;
  ref?(): void;
  unref?(): void;
  readonly channel?: { ref(): void; unref(): void } | null | undefined;
}

type Refable = { ref?: () => unknown; unref?: () => unknown } | null | undefined;

/**
 * Whether the child keeps this process alive: the process handle, its IPC
 * channel and its output pipes. A pool holds it only while it has work, so a
 * script that used a pool exits when it is done, as with piscina.
 */
export function holdProcess(child: ChildLike, hold: boolean): void {
  for (const handle of [child, child.channel, child.stdout, child.stderr] as Refable[]) {
    if (hold) handle?.ref?.();
    else handle?.unref?.();
  }
}

/** Calls back with the child's pid once it has one: at once after fork(), or at 'spawn' for a child a spawner starts. */
export function whenStarted(child: ChildLike, callback: (pid: number) => void): void {
  if (child.pid !== undefined) callback(child.pid);
  else child.once('spawn', () => child.pid !== undefined && callback(child.pid));
}

/**
 * Calls `exited` at the child's exit, and `gone` once it has exited and its
 * IPC channel has closed, so every message it sent has arrived first (or at
 * 'close'). Not 'close' alone: that also waits for its stdout and stderr,
 * which a grandchild could hold open.
 */
export function whenGone(child: ChildLike, exited: () => void, gone: (code: number | null, signal: NodeJS.Signals | null) => void): void {
  let exit: [number | null, NodeJS.Signals | null] | undefined;
  let disconnected = false;
  child.on('exit', (code: number | null, signal: NodeJS.Signals | null) => {
    exit = [code, signal];
    exited();
    if (disconnected) gone(code, signal);
  });
  child.on('disconnect', () => {
    disconnected = true;
    if (exit !== undefined) gone(...exit);
  });
  child.on('close', gone);
}

/** How long a dead child's last output may take to arrive. */
const OUTPUT_GRACE_MS = 500;

/** A grandchild may hold a dead child's output pipes open: reading them stops shortly after, so they never keep this process alive. */
export function releaseOutput({ stdout, stderr }: ChildLike): void {
  if (!stdout && !stderr) return;
  setTimeout(() => {
    stdout?.destroy();
    stderr?.destroy();
  }, OUTPUT_GRACE_MS).unref();
}

export type ForkFn = (modulePath: string, args: readonly string[], options: ForkOptions) => ChildLike;

/** The error code of a child whose spawner died under it (spawner/): a start to retry, never a broken module. */
export const SPAWNER_LOST = 'ESLOWLANE_SPAWNER_LOST';

/** Errors of fork() that mean the machine is out of processes, files or memory: overload, not a broken module. */
export const OUT_OF_RESOURCES = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'ENOMEM']);

// fork() reports EMFILE, EAGAIN and a few others as an 'error' event but
// throws others (ENOMEM): both become an 'error' on a child that never started.
export function forkOrFailLater(fork: ForkFn, modulePath: string, args: readonly string[], options: ForkOptions): ChildLike {
  try {
    return fork(modulePath, args, options);
  } catch (error) {
    const never = Object.assign(new EventEmitter(), { pid: undefined, send: () => false, kill: () => false }) as ChildLike;
    process.nextTick(() => never.emit('error', error));
    return never;
  }
}

/** Output a child writes while ours is this far behind is dropped: a stalled reader must not cost memory here. */
const MAX_OUTPUT_BACKLOG = 1024 * 1024;

/** Outputs whose reader has gone (EPIPE): copying to them stops, and their error is not left uncaught. */
const brokenOutputs = new WeakSet<Writable>();
const watchedOutputs = new WeakSet<Writable>();

// Copies with plain 'data' listeners: piping every child into process.stderr
// would add listeners there per child (MaxListenersExceededWarning). A reader
// that exits (a log shipper restarting, `| head`) must not take the server
// with it: one 'error' listener per output marks it broken.
export function copyOutput(from: Readable | null | undefined, to: Writable): void {
  if (from == null) return;
  if (!watchedOutputs.has(to)) {
    watchedOutputs.add(to);
    to.on('error', () => brokenOutputs.add(to));
  }
  from.on('data', (chunk: Buffer) => {
    if (!brokenOutputs.has(to) && !to.destroyed && to.writableLength < MAX_OUTPUT_BACKLOG) to.write(chunk);
  });
}

export interface StartSpec {
  entry: string;
  tasksUrl: string;
  tasksPerChild: number;
  maxResultBytes: number;
  /** Values this big or more cross through shared memory (wire/shared-memory.ts); Infinity: never. */
  sharedMemoryBytes: number;
  execArgv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
}

export interface StartDeps {
  fork: ForkFn;
  launcher: Launcher | undefined;
  output?: { stdout: Writable; stderr: Writable } | undefined;
}

/** Forks the child program with its tasks module, limits and flags, and copies its output to ours. */
export function startChild(deps: StartDeps, spec: StartSpec): ChildLike {
  const { launcher } = deps;
  const child = forkOrFailLater(deps.fork, spec.entry, [spec.tasksUrl, String(spec.tasksPerChild), String(spec.maxResultBytes), String(spec.sharedMemoryBytes), String(process.pid)], {
    serialization: 'advanced',
    env: spec.env,
    ...(launcher === undefined ? { execArgv: [...spec.execArgv] } : { execPath: launcher.execPath, execArgv: [...launcher.args, ...spec.execArgv] }),
    // A session (and process group) of its own: a terminal's Ctrl-C reaches
    // the server, which drains, not the child; and what its task starts can
    // be signalled with it as one group. See child-priority.ts for its niceness.
    detached: true,
    // Its output comes through pipes of its own, copied to ours. Sharing our
    // stdout and stderr would let each fork switch them to blocking mode
    // (libuv does that to a child's stdio), and then a log reader that
    // stalls would block the server's loop on a write.
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  copyOutput(child.stdout, deps.output?.stdout ?? process.stdout);
  copyOutput(child.stderr, deps.output?.stderr ?? process.stderr);
  return child;
}
