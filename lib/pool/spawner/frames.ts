// Messages over a stream socket: each one a 4-byte big-endian length and V8's
// serialization of it (what Node's 'advanced' IPC serialization sends, so a
// Map, a Buffer or a BigInt cross as they do over a fork()'s channel).
import { deserialize, serialize } from 'node:v8';

/** The largest frame accepted: far above any result a pool allows by default, small enough to catch a corrupt length. */
export const MAX_FRAME_BYTES = 2 ** 31 - 1;

export function frame(message: unknown): Buffer {
  const body = serialize(message);
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

/**
 * Collects chunks and hands out each whole message as it completes. The
 * chunks of a large message are joined once, when its last one arrives.
 */
export class FrameReader {
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** The body length of the message being read, once its head has arrived. */
  #length: number | undefined;

  /** Adds a chunk; returns the messages it completed. Throws on a length past MAX_FRAME_BYTES (a stream that is not ours). */
  push(chunk: Buffer): unknown[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const messages: unknown[] = [];
    for (;;) {
      if (this.#length === undefined) {
        if (this.#buffered < 4) return messages;
        const length = this.#take(4).readUInt32BE(0);
        if (length > MAX_FRAME_BYTES) throw new RangeError(`frame of ${length} bytes is past the limit: not a slowlane channel`);
        this.#length = length;
      }
      if (this.#buffered < this.#length) return messages;
      messages.push(deserialize(this.#take(this.#length)));
      this.#length = undefined;
    }
  }

  /** Removes and returns the first `n` buffered bytes (there are at least n). */
  #take(n: number): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#buffered);
    this.#chunks = all.length > n ? [all.subarray(n)] : [];
    this.#buffered -= n;
    return all.subarray(0, n);
  }
}
