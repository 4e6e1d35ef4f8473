// diagnostics_channel events for runs, for those who use no OpenTelemetry:
// one object per run, published on `slowlane:run:start` when the pool takes
// the run and again, completed, on `slowlane:run:end` when it settles (the
// same object, so a subscriber can pair them, as with a tracingChannel).
// Nothing is built or published while neither channel has a subscriber.
import { channel } from 'node:diagnostics_channel';
import type { Outcome } from './outcome.js';

export const RUN_START_CHANNEL = 'slowlane:run:start';
export const RUN_END_CHANNEL = 'slowlane:run:end';

export const runStart = channel(RUN_START_CHANNEL);
export const runEnd = channel(RUN_END_CHANNEL);

/** What `slowlane:run:start` and `slowlane:run:end` publish. The fields after `stream` are set at the end. */
export interface RunEvent {
  task: string;
  /** The run option label (offload() passes the request's method and URL). */
  label: string | undefined;
  /** A pool.stream() run. */
  stream: boolean;
  /** The run's trace id, when it belongs to a trace. */
  traceId: string | undefined;
  /** The child that ran it (the last one, if a child that never began it handed it back); undefined if none did. */
  pid?: number | undefined;
  /** ms it waited for a child (until it settled, if none took it). */
  queueMs?: number | undefined;
  /** How it ended: 'completed', 'failed', 'crashed', 'timedOut', 'expired', 'aborted', 'rejected' (queue full) or 'closed'. */
  outcome?: Outcome | undefined;
  /** Why it did not complete: the error its promise rejects with (or the abort reason). */
  error?: unknown;
}

export const runsListened = (): boolean => runStart.hasSubscribers || runEnd.hasSubscribers;
