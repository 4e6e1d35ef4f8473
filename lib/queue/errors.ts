// The one failure slowlane/queue adds to the pool's: Redis cannot be reached.
import { SlowlaneError } from '../pool/errors.js';

/** The job could not be sent: Redis is unreachable. Overload-like: retry soon (ioredis reconnects by itself). */
export class QueueUnavailableError extends SlowlaneError {
  readonly code = 'ERR_QUEUE_UNAVAILABLE';
  override readonly name = 'QueueUnavailableError';

  constructor(readonly task: string, options?: ErrorOptions) {
    super(`task "${task}" could not be queued: the job queue (Redis) is unreachable; retry in a second`, { status: 503, expose: true, retry: true });
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}
