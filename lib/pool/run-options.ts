// What a caller can set for one run.

export interface RunOptions {
  /** Aborting removes a waiting task from the queue, or kills the child running it. */
  signal?: AbortSignal | undefined;
  /** Overrides the pool's timeoutMs for this run: ms from the moment a ready child gets the task. */
  timeoutMs?: number | undefined;
  /** Overrides the pool's deadlineMs for this run: ms from this call to the answer, waiting included. */
  deadlineMs?: number | undefined;
}
