// ChildPool's options: what each means, and the checks that turn a bad value
// into a one-line error at construction instead of a surprise later.
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MAX_CHILDREN_LIMIT, MIN_MEMORY_MB, POOL_DEFAULTS } from '../defaults.js';

/** Defaults are in lib/defaults.ts (POOL_DEFAULTS), each with its reason. */
export interface ChildPoolOptions {
  /** Path or file URL of the ES module whose exported functions are the tasks. Required. */
  tasks: string | URL;
  /** Children alive at most, busy or idle. Default: one per core. */
  maxChildren?: number;
  /** Children kept started even when idle. Default 0. */
  minChildren?: number;
  /** Idle children started ahead of demand, within maxChildren. Default 1. */
  spares?: number;
  /** A child leaves after this many tasks: 1 is a fresh process per task. Default Infinity. */
  tasksPerChild?: number;
  /**
   * Runs a busy child may hold while every child is busy: the one it runs
   * and the rest sent ahead, begun in order as it answers. For batches of
   * tiny tasks: several go in one message, about twice the runs a second.
   * A run sent ahead waits for the runs before it in its child, so keep 1
   * (the default) where tasks differ in length, as a server's do.
   */
  prefetch?: number;
  /** Tasks that may wait for a child; beyond it run() rejects with QueueFullError. Default Infinity: a script's runs wait their turn; offload() bounds a server's (100). */
  maxQueue?: number;
  /** A task running longer (counted from when a ready child gets it) is killed. Default Infinity. */
  timeoutMs?: number;
  /** The most a run may take from the run() call to its answer, waiting for a child included. Default Infinity. */
  deadlineMs?: number;
  /** Children's CPU niceness, 0 to 19, so the parent's event loop wins a busy CPU. Default 19. */
  niceness?: number;
  /** Node flags for the children. Default: the parent's module-loading flags (--import, --loader, --require, --experimental-*). */
  execArgv?: readonly string[];
  /** Environment variables added for the children (what setup() reads, such as a database path). Default none. */
  env?: Readonly<Record<string, string>>;
  /** Which of the parent's environment variables children get: true all, false none, or a list of names. Default true. */
  inheritEnv?: boolean | readonly string[];
  /** A result larger than this many bytes (serialized) is refused in the child: the run rejects with ResultTooLargeError, the child stays. Default Infinity. */
  maxResultBytes?: number;
  /**
   * A Buffer, typed array or string of at least this many bytes, as an
   * argument, a result or a streamed value, crosses through a file in
   * /dev/shm (written once, read once, removed at once) instead of the
   * channel (Linux; elsewhere the channel carries everything). Default
   * Infinity (never): measure it on your machine with bench/large-values.ts first.
   */
  sharedMemoryBytes?: number;
  /** Chunks a stream run's child may send ahead of what its reader has read (pool.stream()); the byte window bounds memory, this count matters for tiny values. Default 1024. */
  streamWindow?: number;
  /** Bytes (serialized) a stream run's child may send ahead of its reader: it waits once they pass this, so at most this plus one chunk are held here. Default 4 MiB. */
  streamWindowBytes?: number;
  /** A stream run whose reader takes no value for this long is cancelled (its generator closed, its child freed); the reader then gets StreamIdleError. Default 60 s. */
  streamIdleTimeoutMs?: number;
  /** Between SIGTERM and SIGKILL when a child must go. Default 500 ms. */
  killGraceMs?: number;
  /** A child not ready this long after it was started is killed, as a tasks module that cannot load. Default 30 s. */
  startTimeoutMs?: number;
  /** Hard cap, at least 64: a child whose RSS, with what its task started, passes this many MiB while it starts or runs a task is killed; the run rejects with TaskMemoryError. Linux only. Default Infinity. */
  maxMemoryMb?: number;
  /** Soft cap: a child whose RSS is past this many MiB after a task is replaced once it has answered. Linux only. Default Infinity. */
  recycleMemoryMb?: number;
  /** A child older than this is replaced once it is idle (a busy one after its answer). Default Infinity. */
  maxChildAgeMs?: number;
  /** A child idle this long leaves, if the pool keeps more than minChildren and the spares. Default 30 s. */
  idleTimeoutMs?: number;
  /** Child starts a second at most (a burst of one second's worth); tasks that need more wait in the queue. Default 4 per core. */
  maxStartsPerSecond?: number;
  /**
   * Start children from a small spawner process (one per server, started with
   * the first pool, while the server is still small) instead of fork() in this
   * process, so a child start never stalls a server that holds a lot of
   * memory. Linux only; elsewhere children are forked directly, as they are
   * with false, with fork() or output streams handed in, or with
   * SLOWLANE_SPAWNER=0 in the environment. Default true.
   */
  spawner?: boolean;
}

export interface ResolvedPoolOptions {
  tasksUrl: string;
  maxChildren: number;
  minChildren: number;
  spares: number;
  tasksPerChild: number;
  prefetch: number;
  maxQueue: number;
  timeoutMs: number;
  deadlineMs: number;
  niceness: number;
  execArgv: readonly string[] | undefined;
  env: Readonly<Record<string, string>> | undefined;
  inheritEnv: boolean | readonly string[];
  maxResultBytes: number;
  sharedMemoryBytes: number;
  streamWindow: number;
  streamWindowBytes: number;
  streamIdleTimeoutMs: number;
  killGraceMs: number;
  startTimeoutMs: number;
  maxMemoryMb: number;
  recycleMemoryMb: number;
  maxChildAgeMs: number;
  idleTimeoutMs: number;
  maxStartsPerSecond: number;
  spawner: boolean;
}

function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`option ${name} must be true or false, got ${typeof value}`);
  return value;
}

/** A positive size or rate (fractions allowed), or Infinity for none. */
export function checkPositive(name: string, value: unknown, unit: string): number {
  if (typeof value !== 'number') throw new TypeError(`option ${name} must be a number of ${unit}, got ${typeof value}`);
  if (value === Infinity) return value;
  if (!(value > 0 && Number.isFinite(value))) throw new RangeError(`option ${name} must be a number of ${unit} above 0, or Infinity for none; got ${value}`);
  return value;
}

/** A memory size in MiB: at least what a bare child takes, or Infinity for none. */
export function checkMemory(name: string, value: unknown): number {
  const mb = checkPositive(name, value, 'MiB');
  if (mb < MIN_MEMORY_MB) throw new RangeError(`option ${name} must be at least ${MIN_MEMORY_MB} MiB (a bare child takes about 45), or Infinity for none; got ${mb}`);
  return mb;
}

// Checked here, not left to fork(): a NUL byte or an '=' in a name would make
// every child fail to start, and the value would end up in the log.
const VALID_ENV_NAME = /^[^=\0]+$/;

function checkEnv(env: unknown): Readonly<Record<string, string>> | undefined {
  if (env === undefined) return undefined;
  if (typeof env !== 'object' || env === null) throw new TypeError('option env must be an object of strings, e.g. { DB_PATH: "/var/lib/app.db" }');
  for (const [name, value] of Object.entries(env)) {
    if (!VALID_ENV_NAME.test(name)) throw new TypeError(`option env: variable names must be non-empty, without "=" or NUL bytes; got ${JSON.stringify(name)}`);
    if (typeof value !== 'string') throw new TypeError(`option env: ${name} must be a string, got ${typeof value}`);
    if (value.includes('\0')) throw new TypeError(`option env: ${name} contains a NUL byte, which no environment can hold`);
  }
  return Object.freeze({ ...(env as Record<string, string>) });
}

function checkInheritEnv(value: unknown): boolean | readonly string[] {
  if (typeof value === 'boolean') return value;
  if (Array.isArray(value) && value.every((name) => typeof name === 'string' && VALID_ENV_NAME.test(name))) return Object.freeze([...(value as string[])]);
  throw new TypeError('option inheritEnv must be true (all of the parent\'s variables), false (none) or a list of names, e.g. ["PATH", "HOME"]');
}

/** The environment a child starts with: what the parent passes on (inheritEnv), then env on top. */
export function childEnv(options: Pick<ResolvedPoolOptions, 'env' | 'inheritEnv'>, parent: NodeJS.ProcessEnv = process.env): Record<string, string | undefined> {
  const { inheritEnv, env } = options;
  let base: Record<string, string | undefined>;
  if (inheritEnv === true) base = { ...parent };
  else {
    base = {};
    if (inheritEnv !== false) for (const name of inheritEnv) if (parent[name] !== undefined) base[name] = parent[name];
  }
  return env === undefined ? base : { ...base, ...env };
}

/** setTimeout's own limit: a longer delay fires at once (TimeoutOverflowWarning). */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export function toModuleUrl(tasks: string | URL): string {
  if (tasks instanceof URL) return tasks.href;
  if (typeof tasks !== 'string' || tasks === '') throw new TypeError('option tasks is required: the path or file URL of your tasks module');
  if (tasks.startsWith('file:')) return new URL(tasks).href;
  return pathToFileURL(isAbsolute(tasks) ? tasks : resolve(tasks)).href;
}

/** A whole number in [min, max]; Infinity passes only where `infinite` says so. */
export function checkCount(name: string, value: unknown, min: number, max: number, infinite = false): number {
  if (infinite && value === Infinity) return value;
  if (typeof value !== 'number') throw new TypeError(`option ${name} must be a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`option ${name} must be a whole number from ${min} to ${max}${infinite ? ' or Infinity' : ''}, got ${value}`);
  }
  return value;
}

/** A timeout in ms: above 0 and at most MAX_TIMEOUT_MS, or Infinity for none. */
export function checkTimeout(name: string, value: unknown): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number of ms, got ${typeof value}`);
  if (value === Infinity) return value;
  if (!(value > 0 && value <= MAX_TIMEOUT_MS)) {
    throw new RangeError(`${name} must be above 0 and at most ${MAX_TIMEOUT_MS} ms (about 24.8 days), or Infinity for none; got ${value}`);
  }
  return value;
}

export function resolvePoolOptions(options: ChildPoolOptions): ResolvedPoolOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('ChildPool needs options: { tasks: path or file URL of your tasks module }');
  const d = POOL_DEFAULTS;
  const maxChildren = checkCount('maxChildren', options.maxChildren ?? d.maxChildren, 1, MAX_CHILDREN_LIMIT);
  const minChildren = checkCount('minChildren', options.minChildren ?? Math.min(d.minChildren, maxChildren), 0, maxChildren);
  const execArgv = options.execArgv;
  if (execArgv !== undefined && (!Array.isArray(execArgv) || execArgv.some((flag) => typeof flag !== 'string'))) {
    throw new TypeError('option execArgv must be an array of strings, e.g. ["--max-old-space-size=64"]');
  }
  return {
    tasksUrl: toModuleUrl(options.tasks),
    env: checkEnv(options.env),
    inheritEnv: checkInheritEnv(options.inheritEnv ?? d.inheritEnv),
    maxResultBytes: checkCount('maxResultBytes', options.maxResultBytes ?? d.maxResultBytes, 1, Number.MAX_SAFE_INTEGER, true),
    sharedMemoryBytes: checkCount('sharedMemoryBytes', options.sharedMemoryBytes ?? d.sharedMemoryBytes, 1, Number.MAX_SAFE_INTEGER, true),
    streamWindow: checkCount('streamWindow', options.streamWindow ?? d.streamWindow, 1, 1_000_000),
    streamWindowBytes: checkCount('streamWindowBytes', options.streamWindowBytes ?? d.streamWindowBytes, 1, Number.MAX_SAFE_INTEGER, true),
    streamIdleTimeoutMs: checkTimeout('option streamIdleTimeoutMs', options.streamIdleTimeoutMs ?? d.streamIdleTimeoutMs),
    maxChildren,
    minChildren,
    spares: checkCount('spares', options.spares ?? Math.min(d.spares, maxChildren), 0, maxChildren),
    tasksPerChild: checkCount('tasksPerChild', options.tasksPerChild ?? d.tasksPerChild, 1, Number.MAX_SAFE_INTEGER, true),
    prefetch: checkCount('prefetch', options.prefetch ?? d.prefetch, 1, 1000),
    maxQueue: checkCount('maxQueue', options.maxQueue ?? d.maxQueue, 0, Number.MAX_SAFE_INTEGER, true),
    timeoutMs: checkTimeout('option timeoutMs', options.timeoutMs ?? d.timeoutMs),
    deadlineMs: checkTimeout('option deadlineMs', options.deadlineMs ?? d.deadlineMs),
    niceness: checkCount('niceness', options.niceness ?? d.niceness, 0, 19),
    execArgv,
    killGraceMs: checkCount('killGraceMs', options.killGraceMs ?? d.killGraceMs, 0, MAX_TIMEOUT_MS),
    startTimeoutMs: checkTimeout('option startTimeoutMs', options.startTimeoutMs ?? d.startTimeoutMs),
    maxMemoryMb: checkMemory('maxMemoryMb', options.maxMemoryMb ?? d.maxMemoryMb),
    recycleMemoryMb: checkMemory('recycleMemoryMb', options.recycleMemoryMb ?? d.recycleMemoryMb),
    maxChildAgeMs: checkTimeout('option maxChildAgeMs', options.maxChildAgeMs ?? d.maxChildAgeMs),
    idleTimeoutMs: checkTimeout('option idleTimeoutMs', options.idleTimeoutMs ?? d.idleTimeoutMs),
    maxStartsPerSecond: checkPositive('maxStartsPerSecond', options.maxStartsPerSecond ?? d.maxStartsPerSecond, 'starts a second'),
    spawner: checkBoolean('spawner', options.spawner ?? (process.env['SLOWLANE_SPAWNER'] === undefined || process.env['SLOWLANE_SPAWNER'] === '' ? d.spawner : process.env['SLOWLANE_SPAWNER'] !== '0')),
  };
}
