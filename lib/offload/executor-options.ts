// Options shared by both executors, with their defaults and validation.
import { fork as nodeFork } from 'node:child_process';
import { setPriority } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ChildWorkerDeps, ForkFn } from './child-worker.js';

export interface CommonExecutorOptions {
  /** Path or file URL of an ES module whose named exports are the tasks. */
  tasks: string | URL;
  /** Tasks that may wait for a child beyond the running ones. Default 100. */
  maxQueue?: number;
  /** Default timeout per task, in ms. Default: none. */
  timeoutMs?: number;
  /** Children's CPU niceness (0..19), so the parent's event loop wins a busy CPU. Default 19: make bench measured it best. */
  niceness?: number;
  /** Node flags for the children, e.g. ['--max-old-space-size=64']. Default none. */
  execArgv?: readonly string[];
  /** Grace between SIGTERM and SIGKILL when a child must go. Default 500 ms. */
  killGraceMs?: number;
}

export interface ResolvedCommonOptions {
  tasksUrl: string;
  maxQueue: number;
  timeoutMs: number | undefined;
  niceness: number;
  execArgv: readonly string[];
  killGraceMs: number;
}

/** Injected so unit tests can swap processes and timers for fakes. */
export interface ExecutorDeps extends ChildWorkerDeps {
  entry: string;
}

export const defaultDeps: ExecutorDeps = {
  fork: nodeFork as unknown as ForkFn,
  setPriority,
  entry: new URL('./child-entry.js', import.meta.url).pathname,
};

export function toModuleUrl(tasks: string | URL): string {
  if (tasks instanceof URL) return tasks.href;
  if (tasks.startsWith('file:')) return new URL(tasks).href;
  return pathToFileURL(isAbsolute(tasks) ? tasks : resolve(tasks)).href;
}

export function checkInteger(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`option ${name} must be a whole number from ${min} to ${max}, got ${value}`);
  }
  return value;
}

export function resolveCommonOptions(options: CommonExecutorOptions): ResolvedCommonOptions {
  if (options.tasks === undefined) throw new TypeError('option tasks is required: the path or file URL of your tasks module');
  const timeoutMs = options.timeoutMs;
  if (timeoutMs !== undefined && !(timeoutMs > 0)) throw new RangeError(`option timeoutMs must be above 0, got ${timeoutMs}`);
  return {
    tasksUrl: toModuleUrl(options.tasks),
    maxQueue: checkInteger('maxQueue', options.maxQueue ?? 100, 0),
    timeoutMs,
    niceness: checkInteger('niceness', options.niceness ?? 19, 0, 19),
    execArgv: options.execArgv ?? [],
    killGraceMs: checkInteger('killGraceMs', options.killGraceMs ?? 500, 0),
  };
}
