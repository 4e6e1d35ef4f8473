// Messages over a stream socket: each one a 4-byte big-endian length and V8's
// serialization of it, written the way Node's 'advanced' IPC serialization
// writes it (lib/internal/child_process/serialization.js), so a Map, a Buffer,
// a BigInt and host objects such as process.env cross as over fork()'s channel.
// A small message that JSON carries exactly goes as JSON instead (json-exact.ts):
// a tiny round trip costs about a third less that way (p50 0.050 against 0.071 ms here).
import { DefaultDeserializer, DefaultSerializer } from 'node:v8';
import { jsonExact } from './json-exact.js';

/** The largest frame accepted: far above any result a pool allows by default, small enough to catch a corrupt length. */
export const MAX_FRAME_BYTES = 2 ** 31 - 1;

// Node's tags: a typed array or Buffer is V8's own host object; any other
// host object (process.env, an addon's object) is copied as a plain object.
const ARRAY_BUFFER_VIEW = 0;
const OTHER_HOST_OBJECT = 1;

// The hooks Node's docs describe for custom serializers, absent from @types/node.
const SerializerWithHooks = DefaultSerializer as unknown as new () => DefaultSerializer & { _writeHostObject(object: object): void };
const DeserializerWithHooks = DefaultDeserializer as unknown as new (buffer: Buffer) => DefaultDeserializer & { _readHostObject(): unknown };

class FrameSerializer extends SerializerWithHooks {
  override _writeHostObject(object: object): void {
    if (ArrayBuffer.isView(object)) {
      this.writeUint32(ARRAY_BUFFER_VIEW);
      super._writeHostObject(object);
      return;
    }
    this.writeUint32(OTHER_HOST_OBJECT);
    this.writeValue({ ...object });
  }
}

class FrameDeserializer extends DeserializerWithHooks {
  override _readHostObject(): unknown {
    return this.readUint32() === ARRAY_BUFFER_VIEW ? super._readHostObject() : this.readValue();
  }
}

/** A V8 serialization starts with its version tag; a JSON frame with `{` (only objects go as JSON). */
const V8_VERSION_TAG = 0xff;

export function frame(message: unknown): Buffer {
  if (jsonExact(message)) {
    const text = JSON.stringify(message);
    const length = Buffer.byteLength(text);
    const bytes = Buffer.allocUnsafe(4 + length);
    bytes.writeUInt32BE(length, 0);
    bytes.write(text, 4);
    return bytes;
  }
  const serializer = new FrameSerializer();
  // Room for the length, written once the body's size is known: no second buffer.
  serializer.writeRawBytes(Buffer.alloc(4));
  serializer.writeHeader();
  serializer.writeValue(message);
  const bytes = serializer.releaseBuffer();
  bytes.writeUInt32BE(bytes.length - 4, 0);
  return bytes;
}

function unframe(body: Buffer): unknown {
  if (body[0] !== V8_VERSION_TAG) return JSON.parse(body.toString('utf8'));
  const deserializer = new FrameDeserializer(body);
  deserializer.readHeader();
  return deserializer.readValue();
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

  /** `maxBytes`: the largest frame this reader takes (a stranger's hello is read with a small one). */
  constructor(readonly maxBytes = MAX_FRAME_BYTES) {}

  /**
   * Adds a chunk; returns the messages it completed, at most `most` (the
   * rest stays buffered, see handOver). Throws on a length past maxBytes (a
   * stream that is not ours).
   */
  push(chunk: Buffer, most = Infinity): unknown[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const messages: unknown[] = [];
    while (messages.length < most) {
      if (this.#length === undefined) {
        if (this.#buffered < 4) return messages;
        const length = this.#take(4).readUInt32BE(0);
        if (length > this.maxBytes) throw new RangeError(`frame of ${length} bytes is past the limit of ${this.maxBytes}: not a slowlane channel`);
        this.#length = length;
      }
      if (this.#buffered < this.#length) return messages;
      messages.push(unframe(this.#take(this.#length)));
      this.#length = undefined;
    }
    return messages;
  }

  /** A reader for what follows, with the full limit, holding the bytes this one has not read yet. */
  handOver(): FrameReader {
    const next = new FrameReader();
    if (this.#length !== undefined) throw new Error('a frame is half read');
    next.#chunks = this.#chunks;
    next.#buffered = this.#buffered;
    this.#chunks = [];
    this.#buffered = 0;
    return next;
  }

  /** Removes and returns the first `n` buffered bytes (there are at least n). */
  #take(n: number): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#buffered);
    this.#chunks = all.length > n ? [all.subarray(n)] : [];
    this.#buffered -= n;
    return all.subarray(0, n);
  }
}
