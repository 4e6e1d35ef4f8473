// Every error a pool can reject a run with. Each has a stable `code`, like
// Node's own errors, so callers can branch without string matching.

/** The task threw (or rejected) inside the child. Keeps the remote name, message, stack and own properties. */
export class TaskError extends Error {
  readonly code: string;
  readonly task: string;
  [key: string]: unknown;

  constructor(task: string, remote: { name: string; message: string; stack?: string | undefined; props: Record<string, unknown> }) {
    super(remote.message);
    Object.assign(this, remote.props);
    this.name = remote.name;
    this.task = task;
    this.code = typeof remote.props['code'] === 'string' ? remote.props['code'] : 'ERR_TASK_FAILED';
    if (remote.stack !== undefined) this.stack = remote.stack;
  }
}

/** The child died before answering: exited, was killed, or ran out of memory. */
export class TaskCrashedError extends Error {
  readonly code = 'ERR_TASK_CRASHED';
  override readonly name = 'TaskCrashedError';

  constructor(
    readonly task: string,
    readonly pid: number | undefined,
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
  ) {
    super(`task "${task}" crashed: child process ${pid ?? '(never started)'} ${describeExit(exitCode, signal)} before answering`);
  }
}

/** The task ran longer than its timeout (or past its deadline); its child was killed. */
export class TaskTimeoutError extends Error {
  readonly code = 'ERR_TASK_TIMEOUT';
  override readonly name = 'TaskTimeoutError';

  constructor(readonly task: string, readonly timeoutMs: number, readonly limit: 'timeout' | 'deadline' = 'timeout') {
    super(limit === 'timeout'
      ? `task "${task}" timed out after ${timeoutMs} ms; its child process was killed`
      : `task "${task}" passed its deadline of ${timeoutMs} ms (waiting included); its child process was killed`);
  }
}

/** The child's resident memory passed maxMemoryMb while it ran the task; it was killed. */
export class TaskMemoryError extends Error {
  readonly code = 'ERR_TASK_MEMORY';
  override readonly name = 'TaskMemoryError';

  constructor(readonly task: string, readonly maxMemoryMb: number, readonly rssMb: number) {
    super(`task "${task}" ran out of its memory allowance: its child process reached ${Math.round(rssMb)} MiB (the cap is ${maxMemoryMb} MiB) and was killed`);
  }
}

/** The task's result was larger than maxResultBytes: refused in the child, which stays and serves on. */
export class ResultTooLargeError extends Error {
  readonly code = 'ERR_RESULT_TOO_LARGE';
  override readonly name = 'ResultTooLargeError';

  constructor(readonly task: string, readonly bytes: number, readonly maxResultBytes: number) {
    super(`task "${task}" returned ${formatBytes(bytes)}, more than its allowance of ${formatBytes(maxResultBytes)} (maxResultBytes); return less, or stream it in parts`);
  }
}

/** Bytes as people read them: 1.5 MiB, 300 KiB, 12 bytes. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;
  if (bytes >= 1024) return `${Math.round((bytes / 1024) * 10) / 10} KiB`;
  return `${bytes} bytes`;
}

/** The run's deadline passed before any child could begin it. Overload: retry later. */
export class DeadlineError extends Error {
  readonly code = 'ERR_DEADLINE';
  override readonly name = 'DeadlineError';

  constructor(readonly task: string, readonly deadlineMs: number) {
    super(`task "${task}" could not start within its deadline of ${deadlineMs} ms: every child was busy; try again later`);
  }
}

/** Every child is busy and `maxQueue` tasks already wait. */
export class QueueFullError extends Error {
  readonly code = 'ERR_QUEUE_FULL';
  override readonly name = 'QueueFullError';

  constructor(readonly task: string, readonly maxQueue: number) {
    super(`task "${task}" refused: all children are busy and ${maxQueue} tasks already wait; try again later`);
  }
}

/** The tasks module could not be loaded, so no child can run anything. */
export class TaskLoadError extends Error {
  readonly code = 'ERR_TASK_MODULE_LOAD';
  override readonly name = 'TaskLoadError';

  constructor(readonly moduleUrl: string, reason: string) {
    super(`cannot load tasks module ${moduleUrl}: ${reason}`);
  }
}

/** No child process could be started: the machine is out of processes, file descriptors or memory. Overload: retry later. */
export class ChildStartError extends Error {
  readonly code = 'ERR_CHILD_START';
  override readonly name = 'ChildStartError';

  constructor(readonly errno: string, reason: string) {
    super(`cannot start a child process (${errno}): the machine is out of processes, files or memory; retry later (${reason})`);
  }
}

/** The pool is closing or destroyed and takes no more work. */
export class PoolClosedError extends Error {
  readonly code = 'ERR_POOL_CLOSED';
  override readonly name = 'PoolClosedError';

  constructor(message = 'pool is closed and takes no more tasks') {
    super(message);
  }
}

export function describeExit(exitCode: number | null, signal: NodeJS.Signals | null): string {
  if (signal !== null) return `was killed by ${signal}`;
  return `exited with code ${exitCode ?? 'unknown'}`;
}
