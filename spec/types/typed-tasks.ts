// Type test, run by `make test` as `tsc -p spec/types`: every
// `@ts-expect-error` line must fail to compile, or tsc reports the directive
// as unused and the test fails. The other lines must compile.
import { ChildPool, offload, type TaskRunner } from '../../lib/index.js';
import type { StreamNeedsGeneratorHint, UseStreamHint } from '../../lib/pool/task-types.js';

/** True only when A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

type Tasks = typeof import('../fixtures/tasks.js');
const pool = new ChildPool<Tasks>({ tasks: new URL('../fixtures/tasks.js', import.meta.url) });

// Names, arguments and results follow the module.
export const sum: Promise<number> = pool.run('add', [1, 2]);
export const pid: Promise<number> = pool.run('whoAmI');
export const slept: Promise<number> = pool.run('sleep', [10], { timeoutMs: 1000 });
export const bytes: Promise<Buffer> = pool.run('bigBuffer', [8]);

// @ts-expect-error a misspelt task name
void pool.run('ad', [1, 2]);
// @ts-expect-error an argument of the wrong type
void pool.run('add', ['1', 2]);
// @ts-expect-error too few arguments
void pool.run('add', [1]);
// @ts-expect-error arguments left out where the task needs them
void pool.run('add');
// @ts-expect-error the result is a number, not a string
export const wrong: Promise<string> = pool.run('add', [1, 2]);
// @ts-expect-error the result type is the module's, not the caller's to choose
void pool.run<number>('add', [1, 2]);

// Without a type parameter, it works as before: any name, a result type of the caller's choosing.
const untyped = new ChildPool({ tasks: 'tasks.js' });
export const anything: Promise<string> = untyped.run<string>('fib', ['thirty']);

// map() takes the task's argument lists (an array or any iterable) and resolves with its results, in order.
export const sums: Promise<number[]> = pool.map('add', [[1, 2], [3, 4]]);
export const mapped: Promise<number[]> = pool.map('add', [[1, 2]], { concurrency: 2, signal: new AbortController().signal, onProgress: ({ done, total }) => void [done, total] });
function* pairs(): Generator<[number, number]> {
  yield [1, 2];
}
export const fromGenerator: Promise<number[]> = pool.map('add', pairs());
export const readonlyItems: Promise<number[]> = pool.map('add', [[1, 2] as const]);
// @ts-expect-error an item of the wrong type
void pool.map('add', [[1, '2']]);
// @ts-expect-error an item with too few arguments
void pool.map('add', [[1]]);
// @ts-expect-error a misspelt task name
void pool.map('ad', [[1, 2]]);
// @ts-expect-error the results are numbers
export const wrongMap: Promise<string[]> = pool.map('add', [[1, 2]]);
// @ts-expect-error progress counts are numbers
void pool.map('add', [[1, 2]], { onProgress: ({ done }: { done: string }) => done });

// A generator task goes through stream(): run() says so where its arguments go.
type GeneratorTasks = typeof import('../fixtures/stream-tasks.js');
const generators = new ChildPool<GeneratorTasks>({ tasks: new URL('../fixtures/stream-tasks.js', import.meta.url) });
export const countedValues: AsyncIterableIterator<number> = generators.stream('count', [3]);
export const plain: Promise<number> = generators.run('plain');
// @ts-expect-error run() of a generator task
void generators.run('count', [3]);
// @ts-expect-error the same without arguments
void generators.run('count');
// @ts-expect-error map() of a generator task
void generators.map('count', [[3]]);
// The hint is the type TypeScript names in the error: "Argument of type '"count"' is not assignable to parameter of type '<hint>'".
export const runHint: Equal<Parameters<typeof generators.run<'count'>>[0], UseStreamHint> = true;
export const runHintText: Equal<UseStreamHint, 'this task is a generator (function*): use pool.stream(task, args), which yields its values'> = true;

// offload() checks the same way, with argument tuples inferred from argsFrom.
offload(pool, 'add', () => [1, 2]);
offload(pool, 'add', async (req) => [Number(req.url), 2], { render: (n) => n.toFixed(2) });
// @ts-expect-error a misspelt task name
offload(pool, 'ad', () => [1, 2]);
// @ts-expect-error an argument of the wrong type
offload(pool, 'add', () => ['1', 2]);
// @ts-expect-error render receives the task's result type
offload(pool, 'add', () => [1, 2], { render: (n: string) => n });

// stream: true needs a generator task; for a plain one the error names what to do in stream's place.
offload(generators, 'count', () => [3], { stream: true });
// @ts-expect-error stream: true on a task that is not a generator
offload(generators, 'plain', () => [], { stream: true });
// @ts-expect-error nor may a generator task be offloaded without stream: true
offload(generators, 'count', () => [3]);
declare const needsGenerator: StreamNeedsGeneratorHint;
offload(generators, 'plain', () => [], { stream: needsGenerator }); // the type the error quotes
export const streamHintText: Equal<StreamNeedsGeneratorHint, 'stream: true needs a task that is a generator (function*); for a plain task leave stream out'> = true;

// Only what crosses the IPC channel (V8's structured clone) type-checks.
type IpcTasks = typeof import('./ipc-tasks.js');
const ipc = new ChildPool<IpcTasks>({ tasks: new URL('./ipc-tasks.js', import.meta.url) });
export const summary: Promise<{ total: number; bytes: Buffer }> = ipc.run('summarize', [[{ id: 1, placed: new Date(), tags: new Set(['a']), lines: new Map([['x', [1]]]) }], new Uint8Array(2)]);
// @ts-expect-error a function argument cannot cross
void ipc.run('takesCallback', [() => {}]);
// @ts-expect-error nor can one inside an object
void ipc.run('takesOptions', [{ onProgress: () => {} }]);
// @ts-expect-error a URL arrives without its methods
void ipc.run('returnsUrl');
// @ts-expect-error a class instance arrives as a plain object
void ipc.run('returnsCounter');
// @ts-expect-error offload() refuses the same tasks
offload(ipc, 'returnsUrl', () => []);

// A pool is a TaskRunner of its module, so helpers can take one.
export const runner: TaskRunner<Tasks> = pool;

// A QueueRunner is typed by its tasks module as a ChildPool is.
import { QueueRunner } from '../../lib/queue/index.js';
const remote = new QueueRunner<Tasks>({ connection: { host: '127.0.0.1', port: 6379 }, queue: 'q' });
export const remoteSum: Promise<number> = remote.run('add', [1, 2]);
// @ts-expect-error a misspelt task name
void remote.run('ad', [1, 2]);
// @ts-expect-error an argument of the wrong type
void remote.run('add', ['1', 2]);
export const remoteRoute = offload(remote, 'add', () => [1, 2] as [number, number]);

// stream() gives the run's values and its end: an error, or undefined; never a rejection to handle.
type StreamTasks = typeof import('../fixtures/stream-tasks.js');
const streams = new ChildPool<StreamTasks>({ tasks: 'stream-tasks.js' });
const counted = streams.stream('count', [3]);
export const countedEnd: Promise<Error | undefined> = counted.ended;
export const firstCount: Promise<IteratorResult<number>> = counted.next();
// @ts-expect-error ended is read-only
counted.ended = Promise.resolve(undefined);
export const idle: Promise<Error | undefined> = untyped.stream<string>('lines').ended;
