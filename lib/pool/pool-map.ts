// pool.map(): one task over many argument lists, at most `concurrency` runs
// at a time, results in input order. The items are read as runs start, so a
// generator of inputs is never held in memory whole (p-map's way); piscina
// leaves this to Promise.all, which works here too but queues every run at once.
import type { RunOptions } from './run-options.js';

export interface MapProgress {
  /** Runs answered so far. */
  done: number;
  /** How many items there are: known from the start for an array, otherwise once the items have run out. */
  total: number | undefined;
}

export interface MapOptions {
  /** Runs at a time. Default: the pool's maxChildren. */
  concurrency?: number;
  /** Aborting starts no more runs, aborts the running ones, and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called after each answer. An error it throws stops the map as a failed run does. */
  onProgress?: (progress: MapProgress) => void;
}

type Run = (task: string, args: readonly unknown[], options: RunOptions) => Promise<unknown>;

/**
 * Runs `task` over `items` with `run`. The first failure (or abort) stops it:
 * no run starts after it, the running ones are aborted, and the promise
 * rejects with that error once they have settled, so nothing of the map is
 * still running when the caller sees it.
 */
export function mapRuns(run: Run, task: string, items: Iterable<readonly unknown[]>, options: MapOptions, defaultConcurrency: number): Promise<unknown[]> {
  const { concurrency = defaultConcurrency, signal, onProgress } = options;
  if (!(Number.isInteger(concurrency) && concurrency >= 1) && concurrency !== Infinity) {
    return Promise.reject(new RangeError(`map option concurrency must be a whole number from 1, or Infinity; got ${concurrency}`));
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) return Promise.reject(new TypeError('map option signal must be an AbortSignal'));
  if (onProgress !== undefined && typeof onProgress !== 'function') return Promise.reject(new TypeError('map option onProgress must be a function'));
  let iterator: Iterator<readonly unknown[]>;
  try {
    iterator = items[Symbol.iterator]();
  } catch {
    return Promise.reject(new TypeError('map(task, items): items must be an iterable of argument lists, such as [[1, 2], [3, 4]]'));
  }
  if (signal?.aborted) return Promise.reject(signal.reason);

  return new Promise<unknown[]>((resolve, reject) => {
    const results: unknown[] = [];
    // Each run's signal: aborted when the caller's is, or when another run failed.
    const stop = new AbortController();
    let total = Array.isArray(items) ? items.length : undefined;
    let next = 0;
    let done = 0;
    let running = 0;
    let exhausted = false;
    let failure: { error: unknown } | undefined;

    const onAbort = (): void => fail(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });

    const finish = (): void => {
      signal?.removeEventListener('abort', onAbort);
      if (failure !== undefined) reject(failure.error);
      else resolve(results);
    };

    function fail(error: unknown): void {
      if (failure !== undefined) return;
      failure = { error };
      if (!exhausted) {
        exhausted = true;
        // Closes a generator of inputs (its finally blocks run).
        try {
          iterator.return?.();
        } catch {
          // Its own failure to close does not replace the reason the map stopped.
        }
      }
      stop.abort(error);
      if (running === 0) finish();
    }

    /** Starts runs until `concurrency` are running or the items have run out. */
    function fill(): void {
      while (failure === undefined && !exhausted && running < concurrency) {
        let item: IteratorResult<readonly unknown[]>;
        try {
          item = iterator.next();
        } catch (error) {
          exhausted = true; // a throwing iterator is not closed again
          fail(error);
          return;
        }
        if (item.done === true) {
          exhausted = true;
          total = next;
          break;
        }
        const index = next;
        next += 1;
        running += 1;
        run(task, item.value, { signal: stop.signal }).then(
          (value) => {
            running -= 1;
            if (failure !== undefined) return settleIfIdle();
            results[index] = value;
            done += 1;
            try {
              onProgress?.({ done, total });
            } catch (error) {
              return fail(error);
            }
            fill();
          },
          (error: unknown) => {
            running -= 1;
            if (failure === undefined) fail(error);
            else settleIfIdle();
          },
        );
      }
      if (failure === undefined && exhausted && running === 0) finish();
    }

    function settleIfIdle(): void {
      if (running === 0) finish();
    }

    fill();
  });
}
