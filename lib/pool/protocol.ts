// The messages a parent and a child exchange over the IPC channel.
import type { SerializedError } from './serialized-error.js';

export interface RunMessage {
  type: 'run';
  id: number;
  task: string;
  args: readonly unknown[];
}

/** Leave gracefully: run the tasks module's teardown(), then exit. Sent only to an idle, ready child. */
export interface StopMessage {
  type: 'stop';
}

export type ParentMessage = RunMessage | StopMessage;

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'load-error'; error: SerializedError }
  /** The child hit an uncaught error outside any answer and leaves; `started` are the runs it had begun. */
  | { type: 'exiting'; started: number[] }
  | { type: 'result'; id: number; ok: true; value: unknown }
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
