// What a pool takes from the outside world: processes, /proc, randomness.
// Injected, so unit tests can swap processes for fakes.
import { fork as nodeFork } from 'node:child_process';
import { readRssMb, readTreeRssMb } from './os/memory.js';
import { lowerPriority } from './os/priority.js';
import type { ChildWorkerDeps, ForkFn } from './schedule/worker.js';
import { killGroup, processGroupGuard } from './os/group-guard.js';
import { parentDeathLauncher } from './os/parent-death.js';
import { sharedMemoryUsable } from './wire/shared-memory.js';
import { currentSpawner, sharedSpawner, type Spawner } from './launch/spawner/spawner.js';

export interface PoolDeps extends ChildWorkerDeps {
  /** The program each child runs. */
  entry: string;
  /** The parent's own Node flags, from which children inherit the loader flags. */
  parentExecArgv: readonly string[];
  /** A child's RSS in MiB (from /proc), undefined if it cannot be read. */
  readRssMb: (pid: number) => number | undefined;
  /** The same, with every process it started (what the memory cap counts). */
  readTreeRssMb: (pid: number) => number | undefined;
  /** 0 <= r < 1, for each child's share of the tasksPerChild and age jitter. */
  random: () => number;
  /** Big values may cross through /dev/shm (Linux, writable); otherwise the channel carries everything. */
  sharedMemory: boolean;
}

export const defaultDeps: PoolDeps = {
  fork: nodeFork as unknown as ForkFn,
  setPriority: lowerPriority,
  entry: new URL('./in-child/entry.js', import.meta.url).pathname,
  parentExecArgv: process.execArgv,
  launcher: parentDeathLauncher(),
  killGroup,
  groupGuard: processGroupGuard,
  readRssMb,
  readTreeRssMb,
  random: Math.random,
  sharedMemory: sharedMemoryUsable(),
};

/** Pools of this process not closed yet: the shared helpers (the spawner, the group guard) stay while any is. */
let openPools = 0;

/**
 * The pool's deps: the defaults with what the caller handed in, and the
 * server's spawner as fork() when the pool uses one: Linux, the spawner
 * option on, and neither fork() nor output streams of the pool's own (the
 * spawner's output is the server's). release(), once the pool has closed:
 * after the last pool, the spawner and the guard leave (the next brings them back).
 */
export function poolDeps(given: Partial<PoolDeps>, useSpawner: boolean): { deps: PoolDeps; spawner: Spawner | undefined; release: () => void } {
  const deps = { ...defaultDeps, ...given };
  const spawner = useSpawner && process.platform === 'linux' && given.fork === undefined && given.output === undefined ? sharedSpawner(deps.launcher, deps.fork) : undefined;
  if (spawner !== undefined) deps.fork = spawner.fork;
  openPools += 1;
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    openPools -= 1;
    if (openPools > 0) return;
    currentSpawner()?.retire();
    processGroupGuard.retire();
  };
  return { deps, spawner, release };
}
