// Big values across the process line through shared memory. A Buffer, a
// typed array or a string of at least the pool's sharedMemoryBytes is written
// once to a file in /dev/shm (memory, not disk) and only its name crosses the
// channel; the other side reads it once and removes it at once. Node's IPC
// would copy it four times (serializer, into and out of the pipe in 64 KiB
// pieces, deserializer) with a wake-up per piece.
//
// Every file is named `slowlane-<server pid>-<child pid>-<n>`, so whatever
// dies, whoever is left removes what it left: the pool a child's files when
// the child exits, the group guard the server's when the server dies.
import { accessSync, constants, openSync, readdirSync, readSync, fstatSync, closeSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const SHARED_DIR = '/dev/shm';

const TYPED = {
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
} as const;
type TypedName = keyof typeof TYPED;

/** Where a value was put: its slot among the message's values, its file, and what to make of the bytes. */
export interface SharedRef {
  slot: number;
  file: string;
  type: 'Buffer' | 'string' | TypedName;
}

/** Linux's /dev/shm, writable by this process: otherwise values travel on the channel as before. */
export function sharedMemoryUsable(dir = SHARED_DIR): boolean {
  if (process.platform !== 'linux') return false;
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The start of every file a child of this server writes or is sent: `slowlane-<server pid>-<child pid>-`. */
export const childPrefix = (serverPid: number, childPid: number): string => `slowlane-${serverPid}-${childPid}-`;

let counter = 0;

function typeOf(value: unknown): SharedRef['type'] | undefined {
  if (typeof value === 'string') return 'string';
  if (Buffer.isBuffer(value)) return 'Buffer';
  if (!ArrayBuffer.isView(value) || value instanceof DataView) return undefined;
  const name = value.constructor.name;
  return Object.hasOwn(TYPED, name) ? (name as TypedName) : undefined;
}

/** Bytes a value takes in its file; strings by their length (a cheap lower bound of their UTF-8 size). */
const sizeOf = (value: string | ArrayBufferView): number => (typeof value === 'string' ? value.length : value.byteLength);

/**
 * Moves each big value among `values` into a file named with `prefix`; the
 * returned values hold null in those slots. Undefined when none is big enough.
 */
export function putShared(values: readonly unknown[], minBytes: number, prefix: string, dir = SHARED_DIR): { values: unknown[]; refs: SharedRef[] } | undefined {
  let refs: SharedRef[] | undefined;
  let out: unknown[] | undefined;
  for (let slot = 0; slot < values.length; slot += 1) {
    const value = values[slot];
    const type = typeOf(value);
    if (type === undefined || sizeOf(value as string | ArrayBufferView) < minBytes) continue;
    const file = `${prefix}${(counter += 1)}`;
    const data = typeof value === 'string' ? value : new Uint8Array((value as ArrayBufferView).buffer, (value as ArrayBufferView).byteOffset, (value as ArrayBufferView).byteLength);
    try {
      // Only this user reads it; 'wx': never over another's file.
      writeFileSync(join(dir, file), data, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      // /dev/shm full or gone: what was written so far goes, and the caller sends the values as they are.
      if (refs !== undefined) dropShared(refs, dir);
      throw error;
    }
    (refs ??= []).push({ slot, file, type });
    (out ??= [...values])[slot] = null;
  }
  return refs === undefined ? undefined : { values: out!, refs };
}

/** Reads a file whole into memory of its own, then removes it. */
function readAndRemove(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    unlinkSync(path); // gone from the directory at once; its pages go with the last close
    const { size } = fstatSync(fd);
    const bytes = Buffer.allocUnsafeSlow(size);
    for (let at = 0; at < size; ) {
      const read = readSync(fd, bytes, at, size - at, at);
      if (read === 0) throw new Error(`${path} ended at ${at} of ${size} bytes`);
      at += read;
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}

/** Puts the values back from their files, each removed as it is read. */
export function takeShared(values: readonly unknown[], refs: readonly SharedRef[], dir = SHARED_DIR): unknown[] {
  const out = [...values];
  let failed: unknown;
  for (const ref of refs) {
    try {
      const bytes = readAndRemove(join(dir, ref.file));
      if (ref.type === 'string') out[ref.slot] = bytes.toString('utf8');
      else if (ref.type === 'Buffer') out[ref.slot] = bytes;
      else {
        const Type = TYPED[ref.type];
        out[ref.slot] = new Type(bytes.buffer as ArrayBuffer, 0, bytes.byteLength / Type.BYTES_PER_ELEMENT);
      }
    } catch (error) {
      // The rest are still read (and so removed) before this one's failure is told.
      failed ??= error;
    }
  }
  if (failed !== undefined) throw failed;
  return out;
}

/** putShared(), or undefined where it cannot (a threshold of Infinity, /dev/shm full): the channel then carries the values as they are. */
export function tryPutShared(values: readonly unknown[], minBytes: number, prefix: string): { values: unknown[]; refs: SharedRef[] } | undefined {
  if (minBytes === Infinity) return undefined;
  try {
    return putShared(values, minBytes, prefix);
  } catch {
    return undefined;
  }
}

/** Removes the files of refs that will not be read (a message dropped, a send that failed). */
export function dropShared(refs: readonly SharedRef[] | undefined, dir = SHARED_DIR): void {
  for (const ref of refs ?? []) {
    try {
      unlinkSync(join(dir, ref.file));
    } catch {
      // Read (and removed) already.
    }
  }
}

/** Removes every file whose name starts with `prefix`: what a child that exited, or a server, left. */
export function removeByPrefix(prefix: string, dir = SHARED_DIR): number {
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    try {
      unlinkSync(join(dir, name));
      removed += 1;
    } catch {
      // Gone meanwhile, or not ours to remove.
    }
  }
  return removed;
}
