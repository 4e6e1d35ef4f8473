// The child's side of a stream run: it pulls the task's values one at a
// time, sends each as a chunk while it has credit from the parent, and waits
// for more credit otherwise, so a consumer that stops reading pauses the
// generator here. A cancel closes the generator (return(), so its finally
// blocks run) at its next value.

export interface StreamCredit {
  /** Chunks it may still send. */
  credits: number;
  cancelled: boolean;
  /** Wakes the loop waiting for credit or for a cancel. */
  wake: (() => void) | undefined;
}

export function newCredit(window: number): StreamCredit {
  return { credits: window, cancelled: false, wake: undefined };
}

export function addCredit(state: StreamCredit, n: number): void {
  state.credits += n;
  state.wake?.();
}

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
 * Sends every value the iterator yields through `sendChunk`, within the
 * credit, until it is done or cancelled; closes it (return()) whenever it
 * stops early, a throw included.
 */
export async function pump(iterator: AnyIterator, state: StreamCredit, sendChunk: (value: unknown) => void): Promise<void> {
  let done = false;
  try {
    for (;;) {
      if (state.cancelled) return;
      if (state.credits <= 0) {
        await new Promise<void>((resolve) => (state.wake = resolve));
        state.wake = undefined;
        continue;
      }
      const next = await iterator.next();
      if (next.done === true) {
        done = true;
        return;
      }
      state.credits -= 1;
      sendChunk(next.value);
    }
  } finally {
    if (!done) await iterator.return?.(undefined);
  }
}
