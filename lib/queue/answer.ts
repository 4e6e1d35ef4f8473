// A run's answer as it crosses Redis, from the worker host that ran it to
// the one requester that asked: the job's id (36 ASCII bytes), one byte for
// its kind, then V8's serialization (the structured clone a local pool uses)
// of the value or the error, pushed onto that requester's inbox. The id
// stands apart from the payload so that a payload this side cannot read (a
// host on another Node version) still fails its own run, not none. An answer
// too big to sit in a list is stored under its own key with a short TTL and
// only its id goes through the inbox: the requester fetches and deletes it.
import { deserialize, serialize } from 'node:v8';
import { QUEUE_DEFAULTS } from '../defaults.js';
import { inboxKey, resultKey } from './channels.js';
import { errorToWire, type WireError } from './wire.js';

/** A job id's length: requesters name jobs with randomUUID(). */
const ID_BYTES = 36;
const KIND = { value: 0x76, error: 0x65, big: 0x62 } as const; // 'v', 'e', 'b'

export type Answer = { value: unknown } | { error: WireError };

/** The Redis commands a host delivers with (an ioredis client). */
export interface DeliveryRedis {
  pipeline(): DeliveryPipeline;
}
interface DeliveryPipeline {
  set(key: string, value: Buffer, px: 'PX', ms: number): DeliveryPipeline;
  rpush(key: string, value: Buffer): DeliveryPipeline;
  pexpire(key: string, ms: number): DeliveryPipeline;
  exec(): Promise<Array<[Error | null, unknown]> | null>;
}

export interface DeliveryLimits {
  inlineAnswerBytes: number;
  inboxTtlMs: number;
  resultTtlMs: number;
}

/** The answer for a run that failed: its error as it crosses Redis. */
export const failedAnswer = (error: unknown): Answer => ({ error: errorToWire(error) });

function pack(id: string, kind: number, payload?: Buffer): Buffer {
  const head = Buffer.alloc(ID_BYTES + 1);
  head.write(id, 0, ID_BYTES, 'latin1');
  head[ID_BYTES] = kind;
  return payload === undefined ? head : Buffer.concat([head, payload]);
}

function packAnswer(id: string, answer: Answer): Buffer {
  if ('error' in answer) return pack(id, KIND.error, serialize(answer.error));
  try {
    return pack(id, KIND.value, serialize(answer.value));
  } catch (error) {
    // A value V8 cannot serialize here (the child's own check should have caught it): that run fails, not the host.
    return packAnswer(id, failedAnswer(error));
  }
}

/**
 * Puts a job's answer in its requester's inbox, in one round trip. The
 * inbox's TTL is renewed with each answer: it outlives a requester held busy,
 * not one that died.
 */
export async function deliverAnswer(redis: DeliveryRedis, space: string, replyTo: string, id: string, answer: Answer, limits: DeliveryLimits = QUEUE_DEFAULTS): Promise<void> {
  const inbox = inboxKey(space, replyTo);
  const packed = packAnswer(id, answer);
  const pipeline = redis.pipeline();
  if (packed.length > limits.inlineAnswerBytes) pipeline.set(resultKey(space, id), packed, 'PX', limits.resultTtlMs).rpush(inbox, pack(id, KIND.big));
  else pipeline.rpush(inbox, packed);
  pipeline.pexpire(inbox, limits.inboxTtlMs);
  const replies = await pipeline.exec();
  const failed = replies?.find(([error]) => error !== null)?.[0];
  if (failed) throw failed;
}

/** An inbox entry (or a stored big answer) read back. */
export type Entry =
  | { id: string; kind: 'value' | 'error'; read: () => unknown }
  | { id: string; kind: 'big' };

/** The entry `bytes` hold, or undefined for bytes that are not one (written by something else). */
export function readEntry(bytes: Buffer): Entry | undefined {
  if (bytes.length < ID_BYTES + 1) return undefined;
  const id = bytes.toString('latin1', 0, ID_BYTES);
  const payload = bytes.subarray(ID_BYTES + 1);
  switch (bytes[ID_BYTES]) {
    case KIND.value: return { id, kind: 'value', read: () => deserialize(payload) };
    case KIND.error: return { id, kind: 'error', read: () => deserialize(payload) };
    case KIND.big: return { id, kind: 'big' };
    default: return undefined;
  }
}
