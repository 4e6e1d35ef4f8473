// The reader's side of a stream run: an async iterator over the chunks a
// child sends, in order. It holds at most the run's window of chunks, and
// about its byte window of bytes: the child sends only as much as it was
// given credit for, and credit comes back as the reader reads (half a window
// of either at a time). return() (a `break` out of for await) cancels the
// run, which closes the generator in the child; so does a reader that takes
// nothing for the idle timeout (an iterator dropped after one next() would
// otherwise hold its child, and close(), forever).

import { StreamIdleError } from '../errors.js';
import type { Job } from './job.js';
import type { RunStream } from '../task-types.js';

interface Pending<T> {
  resolve: (result: IteratorResult<T>) => void;
  reject: (error: unknown) => void;
}

export interface StreamLimits {
  /** Chunks the child may send ahead of the reader. */
  window: number;
  /** Bytes (as the child counts them) it may send ahead; Infinity for none. */
  windowBytes?: number;
  /** The reader taking nothing this long cancels the run; Infinity for never. */
  idleTimeoutMs?: number;
  /** The task's name, for the idle error's message. */
  task?: string;
}

export class ChunkStream<T> implements RunStream<T> {
  readonly #buffer: Array<{ value: T; bytes: number }> = [];
  /** Reads waiting for a chunk, oldest first (a reader may call next() again before the last settled). */
  readonly #pending: Array<Pending<T>> = [];
  readonly #limits: Required<StreamLimits>;
  #ended = false;
  #failed = false;
  #error: unknown;
  /** Chunks read and not yet given back to the child as credit, and their bytes. */
  #read = 0;
  #readBytes = 0;
  #credit: (n: number) => void = () => {};
  #cancel: (reason: unknown) => void = () => {};
  #idleTimer: NodeJS.Timeout | undefined;
  #settle!: (error: Error | undefined) => void;
  readonly ended = new Promise<Error | undefined>((resolve) => (this.#settle = resolve));

  constructor(limits: number | StreamLimits) {
    const given = typeof limits === 'number' ? { window: limits } : limits;
    this.#limits = { windowBytes: Infinity, idleTimeoutMs: Infinity, task: 'stream', ...given };
    // The reader has not asked yet: one that never does is idle too.
    this.#armIdle();
  }

  get window(): number {
    return this.#limits.window;
  }

  /** Chunks received and not yet read: what this stream holds. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** Wires it to its run: `credit(n)` lets the child send n more chunks; `cancel(reason)` cancels the run. */
  attach(credit: (n: number) => void, cancel: (reason: unknown) => void): void {
    this.#credit = credit;
    this.#cancel = cancel;
  }

  /** A chunk arrived, `bytes` long as the child counted it. */
  push(value: T, bytes = 0): void {
    if (this.#ended) return;
    const pending = this.#pending.shift();
    if (pending === undefined) {
      this.#buffer.push({ value, bytes });
      return;
    }
    this.#taken(bytes);
    pending.resolve({ value, done: false });
    if (this.#pending.length === 0) this.#armIdle();
  }

  /** The run answered: what is buffered is still read, then done. */
  end(): void {
    this.#ended = true;
    this.#stopIdle();
    this.#settle(undefined);
    this.#settlePending();
  }

  /** The run failed: what is buffered is still read, then the error. */
  fail(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#failed = true;
    this.#error = error;
    this.#stopIdle();
    this.#settle(error instanceof Error ? error : new Error(String(error)));
    this.#settlePending();
  }

  next(): Promise<IteratorResult<T>> {
    const first = this.#buffer.shift();
    if (first !== undefined) {
      this.#taken(first.bytes);
      // The reader has its value: from now on it is its turn to ask again.
      if (!this.#ended) this.#armIdle();
      return Promise.resolve({ value: first.value, done: false });
    }
    // Waiting for a value is not idle.
    this.#stopIdle();
    if (this.#ended) return this.#failed ? Promise.reject(this.#error) : Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.#pending.push({ resolve, reject }));
  }

  /** The reader stops (`break`): the run is cancelled and what is buffered dropped. */
  return(): Promise<IteratorResult<T>> {
    if (!this.#ended) {
      this.#ended = true;
      this.#buffer.length = 0;
      this.#stopIdle();
      this.#settle(undefined);
      this.#cancel(new DOMException('the reader closed the stream', 'AbortError'));
    }
    // Reads still waiting (a reader that raced next() against a timeout) end too.
    for (const pending of this.#pending.splice(0)) pending.resolve({ value: undefined, done: true });
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): RunStream<T> {
    return this;
  }

  #taken(bytes: number): void {
    this.#read += 1;
    this.#readBytes += bytes;
    // Half of either window read: the child, which may be waiting on it, gets it back.
    if (this.#read >= Math.max(1, this.window >> 1) || this.#readBytes >= this.#limits.windowBytes / 2) {
      this.#credit(this.#read);
      this.#read = 0;
      this.#readBytes = 0;
    }
  }

  /** Starts the idle clock again: one timer per stream, refreshed, not one per value. */
  #armIdle(): void {
    const ms = this.#limits.idleTimeoutMs;
    if (ms === Infinity) return;
    if (this.#idleTimer !== undefined) {
      this.#idleTimer.refresh();
      return;
    }
    this.#idleTimer = setTimeout(() => this.#idle(), ms);
    // Never what keeps a process alive: the run's child does that while it runs.
    this.#idleTimer.unref();
  }

  #stopIdle(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  // Nobody has asked for a value for the whole idle timeout: the run is
  // cancelled and what is buffered dropped; a reader that comes back gets the error.
  #idle(): void {
    this.#idleTimer = undefined;
    if (this.#ended) return;
    const error = new StreamIdleError(this.#limits.task, this.#limits.idleTimeoutMs);
    this.#buffer.length = 0;
    this.fail(error);
    this.#cancel(error);
  }

  #settlePending(): void {
    if (this.#buffer.length > 0) return;
    for (const pending of this.#pending.splice(0)) {
      if (this.#failed) pending.reject(this.#error);
      else pending.resolve({ value: undefined, done: true });
    }
  }
}

/** A stream wired to the run `submit` starts (or refuses): chunks in, credit back through `credit`, `break` or idleness aborts the run. */
export function openStream<T>(limits: StreamLimits, submit: (sink: (value: unknown, bytes: number) => void) => { job: Job } | { error: unknown }, credit: (job: Job, n: number) => void): ChunkStream<T> {
  const stream = new ChunkStream<T>(limits);
  const submitted = submit((value, bytes) => stream.push(value as T, bytes));
  if ('error' in submitted) {
    stream.fail(submitted.error);
    return stream;
  }
  const { job } = submitted;
  stream.attach((n) => credit(job, n), (reason) => job.abort(reason));
  job.promise.then(() => stream.end(), (error: unknown) => stream.fail(error));
  return stream;
}
