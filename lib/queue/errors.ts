// The failures slowlane/queue adds to the pool's: Redis cannot be reached,
// and a job stopped on its worker host by something other than its task.
import { SlowlaneError, TaskCrashedError } from '../pool/errors.js';

/** The job could not be sent: Redis is unreachable. Overload-like: retry soon (ioredis reconnects by itself). */
export class QueueUnavailableError extends SlowlaneError {
  readonly code = 'ERR_QUEUE_UNAVAILABLE';
  override readonly name = 'QueueUnavailableError';

  /** `problem`: what Redis said when it is up but will not let us in (a wrong password); never the URL nor the password. */
  constructor(readonly task: string, options?: ErrorOptions & { problem?: string | undefined }) {
    super(`task "${task}" could not be queued: ${options?.problem === undefined ? 'the job queue (Redis) is unreachable; retry in a second' : `the job queue (Redis) ${options.problem}`}`, { status: 503, expose: true, retry: true });
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/**
 * Why a worker host stopped a job its task did not end: a cancel for it came
 * on the queue's cancel channel (or its mark was set) while a requester still
 * waited for it, or the host could not renew its lock on it.
 */
export type StopReason = 'cancelled' | 'lockLost';

const STOPPED: Record<StopReason, string> = {
  cancelled: 'a cancel for its job came on the queue\'s cancel channel while this requester still waited (something else published its id); retry',
  lockLost: 'the host could not renew its lock on the job (Redis was away or too slow), so it may be another host\'s now; retry',
};

/** A job its worker host stopped for a StopReason; the requester may retry it. */
export class JobStoppedError extends SlowlaneError {
  readonly code = 'ERR_QUEUE_JOB_STOPPED';
  override readonly name = 'JobStoppedError';

  constructor(readonly task: string, readonly reason: StopReason) {
    super(`task "${task}" was stopped on its worker host: ${STOPPED[reason] ?? reason}`, { status: 503, expose: true, retry: true });
  }
}

/** A job started a second time after its first host lost it mid-run (died, or lost its lock), for a task not marked idempotent: never run twice. */
export function lostMidRun(task: string): TaskCrashedError {
  const lost = new TaskCrashedError(task, undefined, null, 'SIGKILL');
  lost.message = `task "${task}" was lost mid-run: the worker host that held it died or lost its lock on the job; it is not run again, as the requester's idempotent option does not list it`;
  return lost;
}
