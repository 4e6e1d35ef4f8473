// The program every child runs. It loads the tasks module named on its
// command line, awaits its setup() if it has one, says `ready`, and runs each
// task the parent sends. After as many answers as its tasks-per-child limit,
// or when the parent says stop, it awaits the module's teardown() and exits
// (the parent counts too, and kills it if teardown outlasts the kill grace);
// it exits at once when its parent is gone, so it is never an orphan.
import process from 'node:process';
import { serialize } from 'node:v8';
import { marked, type ChildMessage, type ParentMessage, type RunMessage } from '../wire/protocol.js';
import { serializeError, uncloneable, type SerializedError } from '../wire/serialized-error.js';
import { childPrefix, takeShared, tryPutShared, type SharedRef } from '../wire/shared-memory.js';
import { addCredit, cancelStream, isIteratorResult, iteratorOf, newCredit, pump, type StreamCredit } from './stream.js';
import { childChannel, type ChildChannel } from './channel.js';
import { inTraceContext } from '../../trace/child-context.js';

type TaskModule = Record<string, unknown>;

/** Exports the child calls itself, never as tasks (see LifecycleExport). */
const LIFECYCLE = new Set(['setup', 'teardown']);

const [tasksUrl, limit, resultLimit, sharedLimit, serverPid] = process.argv.slice(2) as Array<string | undefined>;
const tasksPerChild = limit === undefined ? Infinity : Number(limit);
const maxResultBytes = resultLimit === undefined ? Infinity : Number(resultLimit);
/** Values this big or more go back through shared memory, in files named for this child (wire/shared-memory.ts). */
const sharedMemoryBytes = sharedLimit === undefined || serverPid === undefined ? Infinity : Number(sharedLimit);
const sharedPrefix = childPrefix(Number(serverPid), process.pid);

/** A value as it goes back: through shared memory when it is big, on the channel otherwise. */
function outgoing(value: unknown): { value: unknown; shared?: SharedRef[] } {
  const put = tryPutShared([value], sharedMemoryBytes, sharedPrefix);
  return put === undefined ? { value } : { value: null, shared: put.refs };
}
let answered = 0;
/** Runs received and not yet answered. */
const started = new Set<number>();
/** Stream runs in progress, with their credit. */
const streams = new Map<number, StreamCredit>();
let exiting = false;
/** The line to the pool: its IPC channel, or the socket a spawned child connects to. */
let channel: ChildChannel | undefined;

function send(message: ChildMessage, then?: () => void): void {
  // The callback runs once the message is handed to the channel, so exiting
  // there never cuts an answer short, whatever its size.
  try {
    channel!.send(marked(message), (error) => {
      if (error) process.exit(1);
      then?.();
    });
  } catch {
    // Thrown by the serializer, before anything was sent.
    throw uncloneable(message.type === 'chunk' ? 'a value the task yielded' : 'the task\'s answer');
  }
}

const taskNames = (tasks: TaskModule): string[] => Object.keys(tasks).filter((key) => typeof tasks[key] === 'function' && !LIFECYCLE.has(key));

function findTask(tasks: TaskModule, name: string): (...args: unknown[]) => unknown {
  const task = Object.hasOwn(tasks, name) && !LIFECYCLE.has(name) ? tasks[name] : undefined;
  if (typeof task !== 'function') {
    const error = new Error(`no task "${name}" in ${tasksUrl}; it exports: ${taskNames(tasks).join(', ') || '(nothing)'}`);
    error.name = 'UnknownTaskError';
    throw error;
  }
  return task as (...args: unknown[]) => unknown;
}

/** Runs the pool sent ahead (its prefetch option): begun one at a time, in the order sent. */
const waiting: RunMessage[] = [];
let running = false;
/** Runs sent ahead and cancelled before their turn: answered at once, never begun. */
const dropped = new Set<number>();
/** A run at least this long gives the drops that came meanwhile a loop turn to be read before the next run begins. */
const READ_DROPS_AFTER_MS = 1;
const DROPPED: SerializedError = { name: 'DroppedError', message: 'cancelled before it began', props: {} };

function take(tasks: TaskModule, message: RunMessage): void {
  waiting.push(message);
  if (running) return;
  running = true;
  // Begun once every message of this read is handled: a drop for it in the same read is seen first.
  queueMicrotask(() => void runInOrder(tasks));
}

async function runInOrder(tasks: TaskModule): Promise<void> {
  // Each answer is written as it is made: the next run never holds it back.
  for (let message = waiting.shift(); message !== undefined; message = waiting.shift()) {
    const began = performance.now();
    await answer(tasks, message);
    // A drop for the next run may have arrived while this one held the loop:
    // a poll phase reads it before the next begins (the second setImmediate
    // fires after one). Not after a run too short for one to have come: two
    // loop turns a run cost tiny tasks a fifth of their rate here.
    if (waiting.length > 0 && performance.now() - began >= READ_DROPS_AFTER_MS) await new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
  }
  running = false;
}

async function answer(tasks: TaskModule, { id, task, args: given, shared, window, windowBytes, trace }: RunMessage): Promise<void> {
  // A run that arrives after this child decided to leave is not begun: the
  // parent hands it to another child.
  if (exiting) return;
  if (dropped.delete(id)) return deliver(tasks, id, { type: 'result', id, ok: false, error: DROPPED });
  started.add(id);
  // Registered before the task runs: a cancel may come while it is still producing its iterable.
  const credit = window === undefined ? undefined : newCredit(window, windowBytes);
  if (credit !== undefined) streams.set(id, credit);
  let reply: ChildMessage;
  try {
    // A stream's generator steps run in pump(), inside this call too: its spans join the trace as well.
    reply = await inTraceContext(trace, async (): Promise<ChildMessage> => {
      // Big arguments came through shared memory: read, and their files removed, before the task runs.
      const args = shared === undefined ? given : takeShared(given, shared);
      const value = await findTask(tasks, task)(...args);
      if (credit !== undefined) return streamOut(task, id, value, credit);
      if (isIteratorResult(value)) throw new TypeError(`task "${task}" yields values: use pool.stream() for it (or offload's stream option)`);
      const tooLarge = oversize(value);
      return tooLarge === undefined ? { type: 'result', id, ok: true, ...outgoing(value) } : { type: 'result', id, ok: false, error: tooLarge };
    });
  } catch (error) {
    reply = { type: 'result', id, ok: false, error: serializeError(error) };
  }
  streams.delete(id);
  deliver(tasks, id, reply);
}

/** Sends a run's answer; the child leaves after its last one (tasksPerChild). */
function deliver(tasks: TaskModule, id: number, reply: ChildMessage): void {
  answered += 1;
  const done = answered >= tasksPerChild ? () => void finish(tasks) : undefined;
  let sent = trySend(reply, done);
  // The value cannot be serialized (a function, a class instance with handles, a getter that throws).
  if (sent !== true) sent = trySend({ type: 'result', id, ok: false, error: serializeError(sent.error) }, done);
  // Still begun until its answer is on the channel: a child that must leave
  // first tells the parent so, and the run is never run a second time.
  if (sent === true) started.delete(id);
  else leave(sent.error);
}

/**
 * The small string and byte values a stream run yields within one loop turn
 * wait for the turn's end, or for 64 KiB of them, and go as one message: a
 * generator that yields a CSV row at a time costs one write per batch, not
 * one per row. They always serialize, so nothing can fail later; other values
 * flush them and go alone.
 */
let batch: { id: number; values: unknown[]; bytes: number[]; size: number } | undefined;
/** Values under this size (characters or bytes) are batched; a bigger one goes alone, after what waits. */
const BATCHED_VALUE_BELOW = 16 * 1024;
/** A batch goes once it holds this much, even mid-turn: a generator that never pauses (a synchronous cursor) is not held back to its end. */
const BATCH_UP_TO = 64 * 1024;

function flushBatch(): void {
  const ready = batch;
  batch = undefined;
  if (ready === undefined) return;
  const [value] = ready.values;
  send(ready.values.length === 1 ? { type: 'chunk', id: ready.id, value, bytes: ready.bytes[0]! } : { type: 'chunks', id: ready.id, values: ready.values, bytes: ready.bytes });
}

/** A stream run: its values go out as chunks, within the parent's credit; its end is the result, after every chunk. */
async function streamOut(task: string, id: number, produced: unknown, credit: StreamCredit): Promise<ChildMessage> {
  // Sized only when a limit needs it: an object's size costs a serialization.
  const measure = credit.windowBytes !== Infinity || maxResultBytes !== Infinity;
  try {
    await pump(iteratorOf(task, produced), credit, (value) => {
      const bytes = measure ? (sizeOf(value) ?? 0) : 0;
      const tooLarge = oversize(value, bytes);
      if (tooLarge !== undefined) throw Object.assign(new Error(tooLarge.message), { name: tooLarge.name, ...tooLarge.props });
      const out = outgoing(value);
      const size = typeof value === 'string' ? value.length : value instanceof Uint8Array ? value.byteLength : Infinity;
      if (out.shared === undefined && size < BATCHED_VALUE_BELOW) {
        if (batch === undefined) setImmediate(flushBatch);
        batch ??= { id, values: [], bytes: [], size: 0 };
        batch.values.push(value);
        batch.bytes.push(bytes);
        batch.size += size;
        if (batch.size >= BATCH_UP_TO) flushBatch();
      } else {
        flushBatch();
        send({ type: 'chunk', id, bytes, ...out });
      }
      return bytes;
    });
  } finally {
    flushBatch();
  }
  return { type: 'result', id, ok: true, value: undefined };
}

function trySend(message: ChildMessage, then: (() => void) | undefined): true | { error: unknown } {
  try {
    send(message, then);
    return true;
  } catch (error) {
    return { error };
  }
}

/** A value's size as it travels; undefined when v8.serialize refuses it (a native addon's objects, which the IPC serializer may take). */
function sizeOf(value: unknown): number | undefined {
  try {
    return typeof value === 'string' ? Buffer.byteLength(value) : ArrayBuffer.isView(value) ? value.byteLength : serialize(value).byteLength;
  } catch {
    return undefined;
  }
}

/** A result over maxResultBytes is refused here, before it costs the parent its memory and its loop. */
function oversize(value: unknown, measured?: number): SerializedError | undefined {
  if (maxResultBytes === Infinity) return undefined;
  // Unmeasurable: let the send decide.
  const bytes = measured ?? sizeOf(value);
  if (bytes === undefined || bytes <= maxResultBytes) return undefined;
  return { name: 'ResultTooLargeError', message: `result of ${bytes} bytes is over the pool's maxResultBytes (${maxResultBytes})`, props: { code: 'ERR_RESULT_TOO_LARGE', bytes, maxResultBytes } };
}

async function teardown(tasks: TaskModule): Promise<void> {
  if (typeof tasks['teardown'] !== 'function') return;
  try {
    await (tasks['teardown'] as () => unknown)();
  } catch (error) {
    process.stderr.write(`slowlane child ${process.pid}: teardown() failed: ${error instanceof Error ? error.message : String(error)}\n`);
  }
}

/** A graceful end: the last task answered, or the parent said stop. */
async function finish(tasks: TaskModule): Promise<void> {
  if (exiting) return;
  exiting = true;
  await teardown(tasks);
  process.exit(0);
}

// An error no task caught (a rejection left behind, a throw in a timer) may
// have broken this child's state: say which runs had begun, so the parent
// retries only the others elsewhere, then leave; the pool starts another.
function leave(error: unknown): void {
  if (exiting) return;
  // Described before anything else: a value whose toString() throws must not stop this child from leaving.
  let reason: string;
  try {
    reason = error instanceof Error ? (error.stack ?? error.message) : String(error);
  } catch {
    reason = 'a value that cannot be described';
  }
  exiting = true;
  process.stderr.write(`slowlane child ${process.pid}: uncaught ${reason}\nslowlane child ${process.pid}: leaving; the pool replaces it\n`);
  try {
    send({ type: 'exiting', started: [...started] }, () => process.exit(1));
  } catch {
    process.exit(1); // the channel is gone: nobody to tell
  }
}

async function main(): Promise<void> {
  try {
    channel = await childChannel();
  } catch (error) {
    console.error(`slowlane child: cannot reach its pool: ${(error as Error).message}`);
    process.exit(2);
  }
  if (channel === undefined || tasksUrl === undefined) {
    console.error('slowlane child: start me through a ChildPool (I need an IPC channel and a tasks module URL)');
    process.exit(2);
  }
  // A child whose pool is gone has nobody to answer: leave at once.
  channel.onEnd(() => process.exit(0));
  process.on('uncaughtException', leave);
  process.on('unhandledRejection', leave);
  let tasks: TaskModule;
  try {
    tasks = (await import(tasksUrl)) as TaskModule;
    // Where a child opens what it keeps for its life (a database connection):
    // it is not ready until that is done, and a failure is a load error.
    if (typeof tasks['setup'] === 'function') await (tasks['setup'] as () => unknown)();
  } catch (error) {
    send({ type: 'load-error', error: serializeError(error) }, () => process.exit(1));
    return;
  }
  channel.onMessage((raw) => {
    const message = raw as ParentMessage;
    if (message.type === 'stop') void finish(tasks);
    else if (message.type === 'more') {
      const credit = streams.get(message.id);
      if (credit !== undefined) addCredit(credit, message.n);
    } else if (message.type === 'cancel') {
      const credit = streams.get(message.id);
      if (credit !== undefined) cancelStream(credit);
    } else if (message.type === 'drop') {
      // Begun already (or answered): it runs to its end, and the parent drops its answer.
      if (waiting.some((run) => run.id === message.id)) dropped.add(message.id);
    } else take(tasks, message);
  });
  send({ type: 'ready', tasks: taskNames(tasks) });
}

await main();
