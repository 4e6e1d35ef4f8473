// The reader's side of a stream run: an async iterator over the chunks a
// child sends, in order. It holds at most the run's window of chunks: the
// child sends only as much as it was given credit for, and credit comes back
// as the reader reads (half a window at a time). return() (a `break` out of
// for await) cancels the run, which closes the generator in the child.

import type { Job } from './job.js';

interface Pending<T> {
  resolve: (result: IteratorResult<T>) => void;
  reject: (error: unknown) => void;
}

export class ChunkStream<T> implements AsyncIterableIterator<T> {
  readonly #buffer: T[] = [];
  /** Reads waiting for a chunk, oldest first (a reader may call next() again before the last settled). */
  readonly #pending: Array<Pending<T>> = [];
  #ended = false;
  #failed = false;
  #error: unknown;
  /** Chunks read and not yet given back to the child as credit. */
  #read = 0;
  #credit: (n: number) => void = () => {};
  #close: () => void = () => {};

  constructor(readonly window: number) {}

  /** Wires it to its run: `credit(n)` lets the child send n more chunks; `close()` cancels the run. */
  attach(credit: (n: number) => void, close: () => void): void {
    this.#credit = credit;
    this.#close = close;
  }

  push(value: T): void {
    if (this.#ended) return;
    const pending = this.#pending.shift();
    if (pending === undefined) {
      this.#buffer.push(value);
      return;
    }
    this.#taken();
    pending.resolve({ value, done: false });
  }

  /** The run answered: what is buffered is still read, then done. */
  end(): void {
    this.#ended = true;
    this.#settlePending();
  }

  /** The run failed: what is buffered is still read, then the error. */
  fail(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#failed = true;
    this.#error = error;
    this.#settlePending();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#buffer.length > 0) {
      const value = this.#buffer.shift() as T;
      this.#taken();
      return Promise.resolve({ value, done: false });
    }
    if (this.#ended) return this.#failed ? Promise.reject(this.#error) : Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.#pending.push({ resolve, reject }));
  }

  /** The reader stops (`break`): the run is cancelled and what is buffered dropped. */
  return(): Promise<IteratorResult<T>> {
    if (!this.#ended) {
      this.#ended = true;
      this.#buffer.length = 0;
      this.#close();
    }
    // Reads still waiting (a reader that raced next() against a timeout) end too.
    for (const pending of this.#pending.splice(0)) pending.resolve({ value: undefined, done: true });
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  #taken(): void {
    this.#read += 1;
    if (this.#read >= Math.max(1, this.window >> 1)) {
      this.#credit(this.#read);
      this.#read = 0;
    }
  }

  #settlePending(): void {
    if (this.#buffer.length > 0) return;
    for (const pending of this.#pending.splice(0)) {
      if (this.#failed) pending.reject(this.#error);
      else pending.resolve({ value: undefined, done: true });
    }
  }
}

/** A stream wired to the run `submit` starts (or refuses): chunks in, credit back through `credit`, `break` aborts the run. */
export function openStream<T>(window: number, submit: (sink: (value: unknown) => void) => { job: Job } | { error: unknown }, credit: (job: Job, n: number) => void): ChunkStream<T> {
  const stream = new ChunkStream<T>(window);
  const submitted = submit((value) => stream.push(value as T));
  if ('error' in submitted) {
    stream.fail(submitted.error);
    return stream;
  }
  const { job } = submitted;
  stream.attach((n) => credit(job, n), () => job.abort(new DOMException('the reader closed the stream', 'AbortError')));
  job.promise.then(() => stream.end(), (error: unknown) => stream.fail(error));
  return stream;
}
