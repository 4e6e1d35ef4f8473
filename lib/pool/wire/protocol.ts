// The messages a parent and a child exchange over the IPC channel.
import type { TraceCarrier } from '../../trace/carrier.js';
import type { Run } from '../run-options.js';
import type { SerializedError } from './serialized-error.js';
import type { SharedRef } from './shared-memory.js';

/** A run's form on the wire to its child: its id, task and arguments, a stream's credit, and the span context it runs in. */
export function runMessage(id: number, run: Run, stream: { window: number; windowBytes: number } | undefined, trace: TraceCarrier | undefined): RunMessage {
  const message: RunMessage = { type: 'run', id, task: run.task, args: run.args };
  if (stream !== undefined) {
    message.window = stream.window;
    if (stream.windowBytes !== Infinity) message.windowBytes = stream.windowBytes;
  }
  if (trace !== undefined) message.trace = trace;
  return message;
}

export interface RunMessage {
  type: 'run';
  id: number;
  task: string;
  args: readonly unknown[];
  /** A stream run (pool.stream()): the task yields, and the child may send this many chunks before it waits for more credit. */
  window?: number;
  /** ...and may have this many bytes (as chunks measure them) unread by the parent before it waits too. */
  windowBytes?: number;
  /** The span context the task runs in (the parent's run span), so the spans it makes join the caller's trace. */
  trace?: TraceCarrier;
  /** Arguments too big for the channel, in shared memory: their slots in `args` hold null. */
  shared?: SharedRef[];
}

/** The parent read `n` more chunks of stream run `id`: the child may send that many more, and their bytes. */
export interface MoreMessage {
  type: 'more';
  id: number;
  n: number;
}

/** Nobody reads stream run `id` any more: close its generator (its finally blocks run) and answer. */
export interface CancelMessage {
  type: 'cancel';
  id: number;
}

/** Leave gracefully: run the tasks module's teardown(), then exit. Sent only to an idle, ready child. */
export interface StopMessage {
  type: 'stop';
}

/** Run `id`, sent ahead (prefetch), was cancelled before its turn: skip it, answering at once, or if it has begun, finish it. */
export interface DropMessage {
  type: 'drop';
  id: number;
}

export type ParentMessage = RunMessage | StopMessage | MoreMessage | CancelMessage | DropMessage;

export type ChildMessage =
  /** `tasks`: the module's task names, so the pool can tell a misspelt one at ready(). */
  | { type: 'ready'; tasks?: string[] }
  | { type: 'load-error'; error: SerializedError }
  /** The child hit an uncaught error outside any answer and leaves; `started` are the runs it had begun. */
  | { type: 'exiting'; started: number[] }
  /** One value a stream run's task yielded, and its size as the child counted it (0 when it does not count). Its end is a result (value undefined), or a failed one. */
  | { type: 'chunk'; id: number; value: unknown; bytes: number; shared?: SharedRef[] }
  /** Several small string or byte values yielded in one loop turn, in order, with their sizes: one write instead of one each (a cancel midway drops the rest, as it drops later chunks). */
  | { type: 'chunks'; id: number; values: unknown[]; bytes: number[] }
  /** `shared`: the value (slot 0) was too big for the channel and is in shared memory; `value` is null. */
  | { type: 'result'; id: number; ok: true; value: unknown; shared?: SharedRef[] }
  | { type: 'result'; id: number; ok: false; error: SerializedError };

/**
 * Every message a child sends carries this mark. A task (or a library it
 * uses) may call process.send() itself - some send `{ type: 'ready' }` for
 * process managers - and such a message must never be taken for the pool's.
 */
export const MARK = 'slowlane';

export type MarkedChildMessage = ChildMessage & { [MARK]: 1 };

export function marked(message: ChildMessage): MarkedChildMessage {
  return { ...message, [MARK]: 1 };
}

export function isChildMessage(value: unknown): value is MarkedChildMessage {
  return typeof value === 'object' && value !== null && (value as Record<string, unknown>)[MARK] === 1 && typeof (value as { type?: unknown }).type === 'string';
}
