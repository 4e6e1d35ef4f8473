// What crosses Redis: arguments and results as V8's serialization (the same
// structured clone a local pool uses, so a Map, a Buffer or a BigInt arrive
// intact), base64 in BullMQ's JSON; and errors with their slowlane class,
// code and fields, so a remote timeout is a TaskTimeoutError here too.
import { deserialize, serialize } from 'node:v8';
import { ChildStartError, DeadlineError, PoolClosedError, QueueFullError, ResultTooLargeError, TaskCrashedError, TaskError, TaskLoadError, TaskMemoryError, TaskTimeoutError, UnknownTaskError } from '../pool/errors.js';
import { serializeError, type SerializedError } from '../pool/wire/serialized-error.js';
import type { Run } from '../pool/run-options.js';
import type { TraceCarrier } from '../trace/carrier.js';
import { JobStoppedError } from './errors.js';

export const encode = (value: unknown): string => serialize(value).toString('base64');
export const decode = (text: string): unknown => deserialize(Buffer.from(text, 'base64'));

/** The job's data: what a requester sends a worker host. */
export interface JobData {
  args: string;
  /** The requester's id: its answer goes to that requester's inbox (channels.ts inboxKey). */
  replyTo: string;
  timeoutMs?: number | undefined;
  /** Epoch ms: a job taken after it is not started. */
  deadlineAt?: number | undefined;
  /** Run again on another host if the first died mid-job. */
  idempotent?: boolean | undefined;
  /** The run's label (the request that asked for it), for the host's log. */
  label?: string | undefined;
  /** Times a host gave it back unrun (its tasks module did not load): those starts are not a host that died mid-job. */
  givenBack?: number | undefined;
  /** The requester's span context, so the host's run span (and the task's spans) join its trace. */
  trace?: TraceCarrier | undefined;
}

/**
 * A run's form on the wire to a worker host: its arguments encoded, its
 * timeout (the host's pool's when it sets none), its deadline as an epoch
 * time, its label and the span context it runs in.
 */
export function jobData(run: Run, to: { replyTo: string; deadlineAt: number | undefined; idempotent: boolean | undefined; trace: TraceCarrier | undefined }): JobData {
  const { timeoutMs, label } = run;
  return { args: encode(run.args), replyTo: to.replyTo, timeoutMs: timeoutMs === Infinity ? undefined : timeoutMs, deadlineAt: to.deadlineAt, idempotent: to.idempotent, label, trace: to.trace };
}

/** The job's return value for BullMQ: empty, the answer itself went to the requester's inbox. */
export type JobResult = null;

const CLASSES = { TaskError, TaskCrashedError, TaskTimeoutError, TaskMemoryError, ResultTooLargeError, DeadlineError, QueueFullError, TaskLoadError, UnknownTaskError, ChildStartError, PoolClosedError, JobStoppedError };
type ClassName = keyof typeof CLASSES;

/** Marks a failed job's reason as one of ours. */
const PREFIX = 'slowlane-error:';

/** An error as it crosses Redis: its slowlane class (if one of ours) and every field. */
export type WireError = SerializedError & { kind?: ClassName | undefined };

export function errorToWire(error: unknown): WireError {
  const kind = (Object.keys(CLASSES) as ClassName[]).find((name) => error instanceof CLASSES[name]);
  return { kind, ...serializeError(error) };
}

/** The error a wire error stands for: the same class and fields; a kind this version does not know (a newer host) is a plain Error with the same name and message. */
export function errorFromWire(wire: WireError): Error {
  const Class = wire.kind !== undefined && Object.hasOwn(CLASSES, wire.kind) ? CLASSES[wire.kind] : Error;
  const error = Object.create(Class.prototype) as Error;
  Object.assign(error, wire.props);
  Object.defineProperties(error, {
    name: { value: wire.name, writable: true, configurable: true, enumerable: wire.kind !== undefined },
    message: { value: wire.message, writable: true, configurable: true },
    stack: { value: wire.stack ?? `${wire.name}: ${wire.message}`, writable: true, configurable: true },
  });
  return error;
}

/** The failed job's reason, as BullMQ keeps it: the wire error as text. */
export function errorToReason(error: unknown): string {
  return PREFIX + encode(errorToWire(error));
}

/** The error a failed job's reason stands for, or undefined if the reason is not ours (BullMQ's own). */
export function errorFromReason(reason: string): Error | undefined {
  if (!reason.startsWith(PREFIX)) return undefined;
  let wire: WireError;
  try {
    wire = decode(reason.slice(PREFIX.length)) as WireError;
  } catch {
    return undefined;
  }
  return errorFromWire(wire);
}
