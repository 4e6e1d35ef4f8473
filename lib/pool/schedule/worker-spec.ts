// What a ChildWorker is given: the child to start (its spec, from the pool's
// options and this child's jitter), and what it takes from the outside world
// (injected, so unit tests swap processes for fakes).
import type { Writable } from 'node:stream';
import type { ForkFn } from '../launch/fork.js';
import type { GroupGuard } from '../os/group-guard.js';
import type { Launcher } from '../os/parent-death.js';

export interface ChildWorkerDeps {
  fork: ForkFn;
  /** Where children's output is copied; default this process's stdout and stderr. */
  output?: { stdout: Writable; stderr: Writable } | undefined;
  /** Best effort: never throws. */
  setPriority: (pid: number, priority: number) => void;
  /** Starts node so that the child dies with its parent; undefined: plain node. */
  launcher: Launcher | undefined;
  /** Signals a child's whole process group (what its task started too); false if the group is gone. */
  killGroup: (pgid: number, signal: NodeJS.Signals) => boolean;
  /** Kills the groups still alive if this process dies; undefined: none. */
  groupGuard: GroupGuard | undefined;
}

export interface ChildWorkerSpec {
  entry: string;
  tasksUrl: string;
  /** The child exits by itself after this many answers (Infinity: never): the pool's tasksPerChild with this child's jitter. */
  tasksPerChild: number;
  /** Runs it may hold while busy, begun in order (the pool's prefetch): 1 sends none ahead. */
  prefetch: number;
  /** Replaced once older than this (ms): the pool's maxChildAgeMs with this child's jitter. */
  ageLimitMs: number;
  execArgv: readonly string[];
  niceness: number;
  /** How long a child may take to exit after SIGTERM (or stop) before it gets SIGKILL. */
  killGraceMs: number;
  /** How long it may take to say ready. */
  startTimeoutMs: number;
  /** The child's whole environment. */
  env: Readonly<Record<string, string | undefined>>;
  /** A result larger than this (serialized) is refused in the child with ResultTooLargeError. */
  maxResultBytes: number;
  /** A Buffer, typed array or string this big or more crosses through /dev/shm (Infinity: never, or not usable here). */
  sharedMemoryBytes: number;
}
