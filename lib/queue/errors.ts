// The one failure slowlane/queue adds to the pool's: Redis cannot be reached.
import { SlowlaneError } from '../pool/errors.js';

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
