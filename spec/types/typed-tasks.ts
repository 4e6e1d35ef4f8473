// Type test, run by `make test` as `tsc -p spec/types`: every
// `@ts-expect-error` line must fail to compile, or tsc reports the directive
// as unused and the test fails. The other lines must compile.
import { ChildPool, offload, type TaskRunner } from '../../lib/index.js';

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

// offload() checks the same way, with argument tuples inferred from argsFrom.
offload(pool, 'add', () => [1, 2]);
offload(pool, 'add', async (req) => [Number(req.url), 2], { render: (n) => n.toFixed(2) });
// @ts-expect-error a misspelt task name
offload(pool, 'ad', () => [1, 2]);
// @ts-expect-error an argument of the wrong type
offload(pool, 'add', () => ['1', 2]);
// @ts-expect-error render receives the task's result type
offload(pool, 'add', () => [1, 2], { render: (n: string) => n });

// A pool is a TaskRunner of its module, so helpers can take one.
export const runner: TaskRunner<Tasks> = pool;
