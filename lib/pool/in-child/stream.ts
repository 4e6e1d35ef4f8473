// The child's side of a stream run: it pulls the task's values one at a
// time, sends each as a chunk while it has credit from the parent, and waits
// for more credit otherwise, so a consumer that stops reading pauses the
// generator here. Credit counts chunks and bytes: the child waits once the
// chunks the parent has not read pass either window, so a few huge chunks
// cost the parent about the byte window, not a chunk window of them.
// A cancel closes the generator (return(), so its finally blocks run) at its
// next value.

export interface StreamCredit {
  /** Chunks it may still send. */
  credits: number;
  /** Bytes it may have unread by the parent; Infinity for no byte limit. */
  windowBytes: number;
  /** Bytes sent and not yet read by the parent. */
  unreadBytes: number;
  /** The size of each chunk sent and not yet read, oldest first: 'more' says how many were read, in order. */
  readonly unread: number[];
  cancelled: boolean;
  /** Wakes the loop waiting for credit or for a cancel. */
  wake: (() => void) | undefined;
}

export function newCredit(window: number, windowBytes = Infinity): StreamCredit {
  return { credits: window, windowBytes, unreadBytes: 0, unread: [], cancelled: false, wake: undefined };
}

/** The parent read `n` more chunks: that many, and their bytes, may go out again. */
export function addCredit(state: StreamCredit, n: number): void {
  state.credits += n;
  for (const bytes of state.unread.splice(0, n)) state.unreadBytes -= bytes;
  state.wake?.();
}

/** Out of credit: as many chunks as the window are unread, or bytes up to the byte window. */
const waiting = (state: StreamCredit): boolean => state.credits <= 0 || state.unreadBytes >= state.windowBytes;

export function cancelStream(state: StreamCredit): void {
  state.cancelled = true;
  state.wake?.();
}

type AnyIterator = Iterator<unknown> | AsyncIterator<unknown>;

/** The task's iterator: an async generator, a generator, or anything (async) iterable but a string. */
export function iteratorOf(task: string, produced: unknown): AnyIterator {
  if (typeof produced === 'object' && produced !== null) {
    const asyncIterator = (produced as { [Symbol.asyncIterator]?: () => AsyncIterator<unknown> })[Symbol.asyncIterator];
    if (typeof asyncIterator === 'function') return asyncIterator.call(produced);
    const iterator = (produced as { [Symbol.iterator]?: () => Iterator<unknown> })[Symbol.iterator];
    if (typeof iterator === 'function') return iterator.call(produced);
  }
  const error = new TypeError(`task "${task}" does not yield values (it returned ${produced === null ? 'null' : typeof produced}): use pool.run() for it, or make it a generator (function* or async function*)`);
  throw error;
}

/** A value a plain run() must not try to send: a generator or another iterator. */
export function isIteratorResult(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { next?: unknown }).next === 'function' && (Symbol.asyncIterator in value || Symbol.iterator in value);
}

/**
 * Sends every value the iterator yields through `sendChunk` (which returns
 * the bytes it sent), within the credit, until it is done or cancelled;
 * closes it (return()) whenever it stops early, a throw included.
 */
export async function pump(iterator: AnyIterator, state: StreamCredit, sendChunk: (value: unknown) => number): Promise<void> {
  let done = false;
  try {
    for (;;) {
      if (state.cancelled) return;
      // Checked before the next value is asked for: a reader that stalls pauses the generator itself.
      if (waiting(state)) {
        await new Promise<void>((resolve) => (state.wake = resolve));
        state.wake = undefined;
        continue;
      }
      const next = await iterator.next();
      if (next.done === true) {
        done = true;
        return;
      }
      const bytes = sendChunk(next.value);
      state.credits -= 1;
      state.unreadBytes += bytes;
      state.unread.push(bytes);
    }
  } finally {
    if (!done) await iterator.return?.(undefined);
  }
}
