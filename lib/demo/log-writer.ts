// The access log's way out: lines gathered in a bounded buffer and written
// once per turn of the event loop, never more than the stream takes. When the
// reader stalls (a full pipe), lines beyond the bound are dropped and counted:
// the server's answers never wait for the log, and its memory stays bounded.

/** The part of a stream the writer uses. */
export interface LogStream {
  write(chunk: string): boolean;
  once(event: 'drain', listener: () => void): unknown;
  /** A stream whose reader has gone (EPIPE) says so here; the writer then drops lines. */
  on?(event: 'error', listener: (error: Error) => void): unknown;
}

export interface LogStats {
  /** Lines handed to the stream. */
  written: number;
  /** Lines dropped because the buffer was full. */
  dropped: number;
  /** Lines waiting in the buffer, and their bytes. */
  pending: number;
  pendingBytes: number;
}

/** A stalled reader costs at most this much memory here (plus one chunk inside the stream). */
export const LOG_BUFFER_BYTES = 1024 * 1024;

export class LogWriter {
  readonly #stream: LogStream;
  readonly #maxBytes: number;
  // One growing string, not an array joined later: V8 keeps appends as cheap ropes.
  #pending = '';
  #pendingLines = 0;
  #pendingBytes = 0;
  #scheduled = false;
  #waitingForDrain = false;
  #written = 0;
  #dropped = 0;
  /** The reader has gone: nothing will drain again. */
  #broken = false;

  constructor(stream: LogStream, maxBytes = LOG_BUFFER_BYTES) {
    this.#stream = stream;
    this.#maxBytes = maxBytes;
    // Without a listener, EPIPE from a reader that exited would be an uncaught error that ends the server.
    stream.on?.('error', () => {
      this.#broken = true;
      this.#dropped += this.#pendingLines;
      this.#pending = '';
      this.#pendingLines = 0;
      this.#pendingBytes = 0;
    });
  }

  /** Queues one line (a newline is added). */
  readonly line = (text: string): void => {
    const entry = `${text}\n`;
    if (this.#broken || this.#pendingBytes + entry.length > this.#maxBytes) {
      this.#dropped += 1;
      return;
    }
    this.#pending += entry;
    this.#pendingLines += 1;
    this.#pendingBytes += entry.length;
    if (!this.#scheduled && !this.#waitingForDrain) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  };

  stats(): LogStats {
    return { written: this.#written, dropped: this.#dropped, pending: this.#pendingLines, pendingBytes: this.#pendingBytes };
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    if (this.#waitingForDrain || this.#pendingLines === 0) return;
    const chunk = this.#pending;
    this.#written += this.#pendingLines;
    this.#pending = '';
    this.#pendingLines = 0;
    this.#pendingBytes = 0;
    if (!this.#stream.write(chunk)) {
      this.#waitingForDrain = true;
      this.#stream.once('drain', () => {
        this.#waitingForDrain = false;
        this.#flush();
      });
    }
  };
}
