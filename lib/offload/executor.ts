// The contract every executor keeps. The HTTP server sees only this.

export interface RunOptions {
  /** Aborting removes a waiting task from the queue or kills the child running it. */
  signal?: AbortSignal | undefined;
  /** Overrides the executor's default timeout for this run. */
  timeoutMs?: number | undefined;
}

export interface ExecutorStats {
  /** Tasks in a child right now. */
  running: number;
  /** Tasks waiting for a child. */
  queued: number;
  completed: number;
  failed: number;
  crashed: number;
  timedOut: number;
  aborted: number;
  /** Refused because the queue was full. */
  rejected: number;
  /** Child processes alive, busy or not. */
  children: number;
}

export interface Executor {
  run<T = unknown>(task: string, args?: readonly unknown[], options?: RunOptions): Promise<T>;
  stats(): ExecutorStats;
  /** Takes no more tasks, lets running and queued ones finish, then ends every child. */
  close(): Promise<void>;
  /** Ends every child now; pending runs reject. */
  destroy(): Promise<void>;
}
