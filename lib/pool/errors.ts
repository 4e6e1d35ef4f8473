// Every error a pool can reject a run with. Each has a stable `code`, like
// Node's own errors, so callers can branch without string matching, and the
// HTTP status it maps to in the fields frameworks read (the http-errors
// convention: status, statusCode, expose, headers), so Fastify's, Koa's or
// Express's own error handling answers a timeout 504, not 500. The pool
// itself never reads them.

const RETRY = Object.freeze({ 'retry-after': '1' });
const NONE = Object.freeze({});

interface HttpFields {
  status: number;
  /** The message is safe to show a client (no path, pid or module detail). */
  expose: boolean;
  /** Overload: the client may retry in a second. */
  retry?: boolean;
}

/** The base of every error a pool rejects with (never a task's own error: that is a TaskError). */
export class SlowlaneError extends Error {
  /** The HTTP status failureResponse() answers with. */
  readonly status: number;
  /** The same, for frameworks that read statusCode (Fastify). */
  readonly statusCode: number;
  /** Whether the message may be shown to a client as it is. */
  readonly expose: boolean;
  /** Headers the answer needs (Retry-After on overload). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(message: string, http: HttpFields) {
    super(message);
    this.status = this.statusCode = http.status;
    this.expose = http.expose;
    this.headers = http.retry === true ? RETRY : NONE;
  }
}

/**
 * The task threw (or rejected) inside the child. Keeps the remote name,
 * message, stack and own properties, except the HTTP fields: a task's error
 * is this server's 500 whatever status it carried (an HTTP client's error
 * inside the child is not this server's answer).
 */
export class TaskError extends SlowlaneError {
  readonly code: string;
  readonly task: string;
  [key: string]: unknown;

  constructor(task: string, remote: { name: string; message: string; stack?: string | undefined; props: Record<string, unknown> }) {
    super(remote.message, { status: 500, expose: false });
    const { status, statusCode, expose, headers, ...props } = remote.props;
    Object.assign(this, props);
    this.name = remote.name;
    this.task = task;
    this.code = typeof remote.props['code'] === 'string' ? remote.props['code'] : 'ERR_TASK_FAILED';
    if (remote.stack !== undefined) this.stack = remote.stack;
  }
}

/** The child died before answering: exited, was killed, or ran out of memory. */
export class TaskCrashedError extends SlowlaneError {
  readonly code = 'ERR_TASK_CRASHED';
  override readonly name = 'TaskCrashedError';

  constructor(
    readonly task: string,
    readonly pid: number | undefined,
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
  ) {
    super(`task "${task}" crashed: child process ${pid ?? '(never started)'} ${describeExit(exitCode, signal)} before answering`, { status: 500, expose: false });
  }
}

/** The task ran longer than its timeout (or past its deadline); its child was killed. */
export class TaskTimeoutError extends SlowlaneError {
  readonly code = 'ERR_TASK_TIMEOUT';
  override readonly name = 'TaskTimeoutError';

  constructor(readonly task: string, readonly timeoutMs: number, readonly limit: 'timeout' | 'deadline' = 'timeout') {
    super(limit === 'timeout'
      ? `task "${task}" timed out after ${timeoutMs} ms; its child process was killed`
      : `task "${task}" passed its deadline of ${timeoutMs} ms (waiting included); its child process was killed`, { status: 504, expose: true });
  }
}

/** The child's resident memory passed maxMemoryMb while it ran the task; it was killed. */
export class TaskMemoryError extends SlowlaneError {
  readonly code = 'ERR_TASK_MEMORY';
  override readonly name = 'TaskMemoryError';

  constructor(readonly task: string, readonly maxMemoryMb: number, readonly rssMb: number) {
    super(`task "${task}" ran out of its memory allowance: its child process reached ${Math.round(rssMb)} MiB (the cap is ${maxMemoryMb} MiB) and was killed`, { status: 500, expose: true });
  }
}

/** A stream run's reader took no value for streamIdleTimeoutMs (it dropped the iterator, or its client stopped reading): the run was cancelled, its generator closed. */
export class StreamIdleError extends SlowlaneError {
  readonly code = 'ERR_STREAM_IDLE';
  override readonly name = 'StreamIdleError';

  constructor(readonly task: string, readonly idleTimeoutMs: number) {
    super(`stream of task "${task}" cancelled: its reader took no value for ${idleTimeoutMs} ms (streamIdleTimeoutMs)`, { status: 504, expose: true });
  }
}

/** The task's result was larger than maxResultBytes: refused in the child, which stays and serves on. */
export class ResultTooLargeError extends SlowlaneError {
  readonly code = 'ERR_RESULT_TOO_LARGE';
  override readonly name = 'ResultTooLargeError';

  constructor(readonly task: string, readonly bytes: number, readonly maxResultBytes: number) {
    super(`task "${task}" returned ${formatBytes(bytes)}, more than its allowance of ${formatBytes(maxResultBytes)} (maxResultBytes); return less, or stream it in parts`, { status: 500, expose: true });
  }
}

/** The error a child's failed answer becomes: ResultTooLargeError when the child refused the result, TaskError otherwise. */
export function taskErrorOf(task: string, remote: ConstructorParameters<typeof TaskError>[1], maxResultBytes: number): Error {
  if (remote.name === 'ResultTooLargeError' && remote.props['code'] === 'ERR_RESULT_TOO_LARGE') return new ResultTooLargeError(task, Number(remote.props['bytes']), maxResultBytes);
  return new TaskError(task, remote);
}

/** Bytes as people read them: 1.5 MiB, 300 KiB, 12 bytes. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;
  if (bytes >= 1024) return `${Math.round((bytes / 1024) * 10) / 10} KiB`;
  return `${bytes} bytes`;
}

/** The run's deadline passed before any child could begin it. Overload: retry later. */
export class DeadlineError extends SlowlaneError {
  readonly code = 'ERR_DEADLINE';
  override readonly name = 'DeadlineError';

  constructor(readonly task: string, readonly deadlineMs: number) {
    super(`task "${task}" could not start within its deadline of ${deadlineMs} ms: every child was busy; try again later`, { status: 503, expose: true, retry: true });
  }
}

/** Every child is busy and `maxQueue` tasks already wait. */
export class QueueFullError extends SlowlaneError {
  readonly code = 'ERR_QUEUE_FULL';
  override readonly name = 'QueueFullError';

  constructor(readonly task: string, readonly maxQueue: number) {
    super(`task "${task}" refused: all children are busy and ${maxQueue} tasks already wait; try again later`, { status: 503, expose: true, retry: true });
  }
}

/** The tasks module could not be loaded, so no child can run anything. */
export class TaskLoadError extends SlowlaneError {
  readonly code = 'ERR_TASK_MODULE_LOAD';
  override readonly name = 'TaskLoadError';

  constructor(readonly moduleUrl: string, reason: string) {
    super(`cannot load tasks module ${moduleUrl}: ${reason}`, { status: 500, expose: false });
  }
}

/** A task name the tasks module does not export (found at ready(), or at run() once a child has said what it exports). */
export class UnknownTaskError extends SlowlaneError {
  readonly code = 'ERR_UNKNOWN_TASK';
  override readonly name = 'UnknownTaskError';

  constructor(readonly tasks: readonly string[], readonly moduleUrl: string, readonly exported: readonly string[]) {
    super(`${tasks.map((task) => `"${task}"`).join(', ')} ${tasks.length === 1 ? 'is not a task' : 'are not tasks'} of ${moduleUrl}; it exports: ${exported.join(', ') || '(nothing)'}`, { status: 500, expose: false });
  }

  /** The first name, as other errors' `task`. */
  get task(): string {
    return this.tasks[0]!;
  }
}

/** No child process could be started: the machine is out of processes, file descriptors or memory. Overload: retry later. */
export class ChildStartError extends SlowlaneError {
  readonly code = 'ERR_CHILD_START';
  override readonly name = 'ChildStartError';

  constructor(readonly errno: string, reason: string) {
    super(`cannot start a child process (${errno}): the machine is out of processes, files or memory; retry later (${reason})`, { status: 503, expose: false, retry: true });
  }
}

/** The pool is closing or destroyed and takes no more work. */
export class PoolClosedError extends SlowlaneError {
  readonly code = 'ERR_POOL_CLOSED';
  override readonly name = 'PoolClosedError';

  constructor(message = 'pool is closed and takes no more tasks') {
    super(message, { status: 503, expose: true, retry: true });
  }
}

export function describeExit(exitCode: number | null, signal: NodeJS.Signals | null): string {
  if (signal !== null) return `was killed by ${signal}`;
  return `exited with code ${exitCode ?? 'unknown'}`;
}
