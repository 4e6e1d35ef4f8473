// The second hostile round's faults that live in the pool's bookkeeping, on
// faked children and a fake clock; and the small HTTP and option checks.
import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sinon from 'sinon';
import { ChildPool } from '../../lib/pool/child-pool.js';
import { DeadlineError, TaskCrashedError, TaskError } from '../../lib/pool/errors.js';
import { childEnv, resolvePoolOptions, type ChildPoolOptions } from '../../lib/pool/pool-options.js';
import { ShellGroupGuard } from '../../lib/pool/os/group-guard.js';
import { failureResponse } from '../../lib/http/failure-response.js';
import { HttpError } from '../../lib/http/http-error.js';
import { offload } from '../../lib/http/offload.js';
import { requestSignal } from '../../lib/http/request-signal.js';
import { LoopPressure } from '../../lib/http/loop-pressure.js';
import type { TaskRunner } from '../../lib/pool/task-types.js';
import { LogWriter } from '../../lib/demo/log-writer.js';
import { request } from '../support/http.js';
import { flush, useFakeProcessesAndClock, type FakeChild } from '../support/fake-child.js';

describe('hostile round two: the pool (faked fork, fake clock)', () => {
  const env = useFakeProcessesAndClock();
  const make = (options: Partial<ChildPoolOptions> = {}) => new ChildPool({ tasks: '/tasks.js', ...options }, env.fakes.deps);
  const alive = () => env.fakes.children.filter((child) => child.connected);

  it('2. a queued run that expires inside the hand-over leaves its child free, not busy forever', async () => {
    const pool = make({ minChildren: 1, maxChildren: 1, spares: 0, deadlineMs: 1000 });
    const child = env.fakes.children[0]!;
    child.ready();
    const first = pool.run('first');
    // The answer is read in the same turn the waiting run's deadline passes
    // (a timer created before it, so it runs first): the run expires as it is handed over.
    setTimeout(() => child.answer('one'), 1000);
    const waiting = pool.run('waiting');
    await env.clock.tickAsync(1000);
    expect(await first).to.equal('one');
    expect(await waiting.catch((e: unknown) => e)).to.be.instanceOf(DeadlineError);
    expect(child.sent.map((m) => m.task), 'the expired run never reached the child').to.deep.equal(['first']);
    expect(pool.stats()).to.include({ running: 0, queued: 0, idle: 1, expired: 1 });
    const next = pool.run('next');
    child.answer('served');
    expect(await next, 'the child takes the next run').to.equal('served');
  });

  /** One child busy with a first run; a second run bound to a second child that is still starting. */
  const secondWaitsForAStart = () => {
    const pool = make({ minChildren: 1, maxChildren: 2, spares: 0 });
    const busy = env.fakes.children[0]!;
    busy.ready();
    const first = pool.run('first');
    const second = pool.run('second');
    return { pool, busy, starting: env.fakes.children[1]!, first, second };
  };

  it('6. a run waiting for a child whose setup() hangs moves to a child that frees up; the starting child stays', async () => {
    const { pool, busy, starting, first, second } = secondWaitsForAStart();
    expect(starting.sent, 'bound to the starting child').to.deep.equal([]);
    busy.answer('one');
    expect(await first).to.equal('one');
    expect(busy.sent.map((m) => m.task), 'the free child took it').to.deep.equal(['first', 'second']);
    busy.answer('two');
    expect(await second).to.equal('two');
    starting.ready();
    expect(starting.sent, 'nothing left for it').to.deep.equal([]);
    expect(pool.stats()).to.include({ children: 2, idle: 2, completed: 2 });
  });

  it('6. a run bound to a child whose setup() throws goes to a ready child, not to the load error', async () => {
    const { pool, busy, starting, first, second } = secondWaitsForAStart();
    starting.say({ type: 'load-error', error: { name: 'Error', message: 'database did not answer', props: {} } });
    starting.exit(1);
    await flush();
    busy.answer('one');
    expect(await first).to.equal('one');
    busy.answer('two');
    expect(await second).to.equal('two');
    expect(pool.stats()).to.include({ completed: 2, failed: 0 });
  });

  it('7. recycling with a slow teardown never has more than maxChildren processes alive', async () => {
    const pool = make({ minChildren: 2, maxChildren: 2, spares: 0, tasksPerChild: 2, killGraceMs: 5000 });
    const results = Array.from({ length: 20 }, (_, i) => pool.run('t', [i]));
    let done = 0;
    for (const result of results) void result.then(() => (done += 1));
    const readied = new Set<unknown>();
    const answered = new Set<number>();
    let most = 0;
    for (let step = 0; step < 200 && done < 20; step += 1) {
      for (const child of alive()) {
        if (!readied.has(child)) {
          readied.add(child);
          child.ready();
        }
        for (const message of child.sent) {
          if (answered.has(message.id)) continue;
          answered.add(message.id);
          child.answer('ok', message.id);
        }
      }
      await env.clock.tickAsync(20); // the spawn budget (8 starts a second here) paces the replacements
      most = Math.max(most, alive().length);
      // A child that served its two runs leaves, but its teardown() takes a few turns.
      if (step % 3 === 2) for (const child of alive()) if (child.sent.length >= 2 && child.sent.every((m) => answered.has(m.id))) child.exit(0);
    }
    expect(done, 'every run answered').to.equal(20);
    expect(most, 'processes alive at once').to.be.at.most(2);
    expect(env.fakes.children.length, 'children started in all').to.be.at.least(10);
  });

  it('close() with queued runs and children retired after their answer: the retired leave, replacements run the queue, close resolves', async () => {
    const pool = make({ minChildren: 2, maxChildren: 2, spares: 0, maxChildAgeMs: 1000 });
    for (const child of env.fakes.children) child.ready();
    const runs = ['a', 'b', 'c', 'd'].map((task) => pool.run(task));
    let closed = false;
    void pool.close().then(() => (closed = true));
    await env.clock.tickAsync(1100); // past the age limit, jitter included
    const [first, second] = env.fakes.children as [FakeChild, FakeChild];
    first.answer('A');
    second.answer('B');
    await env.clock.tickAsync(1);
    expect([first.stops, second.stops], 'both past their age: stopped though closing').to.deep.equal([1, 1]);
    first.exit(0);
    second.exit(0);
    await env.clock.tickAsync(1);
    const replacements = env.fakes.children.slice(2);
    expect(replacements, 'two replacements for the two queued runs').to.have.length(2);
    for (const child of replacements) child.ready();
    for (const child of replacements) child.answer(child.sent[0]!.task.toUpperCase());
    expect(await Promise.all(runs)).to.deep.equal(['A', 'B', 'C', 'D']);
    await flush();
    for (const child of replacements) child.exit(0);
    await env.clock.tickAsync(1);
    expect(closed).to.equal(true);
  });

  it('a cancelled stream run whose child then leaves saying it never began it is not run again', async () => {
    const pool = make({ minChildren: 1, maxChildren: 2, spares: 0 });
    const child = env.fakes.children[0]!;
    child.ready();
    const stream = pool.stream('export');
    const read = stream.next();
    child.say({ type: 'chunk', id: child.sent[0]!.id, value: 'row', bytes: 3 });
    expect(await read).to.deep.equal({ value: 'row', done: false });
    await stream.return?.();
    expect(child.control.map((m) => m.type), 'asked to close its generator').to.deep.equal(['cancel']);
    child.say({ type: 'exiting', started: [] });
    child.exit(1);
    await env.clock.tickAsync(1000);
    for (const other of env.fakes.children.slice(1)) other.ready();
    await env.clock.tickAsync(1);
    expect(env.fakes.children.flatMap((c) => c.sent.map((m) => m.task)), 'sent once').to.deep.equal(['export']);
    expect(pool.stats()).to.include({ running: 0, queued: 0, aborted: 1 });
  });

  it('8. a child that announces it is leaving with a run it had begun: that run fails as a crash and is not run again', async () => {
    const pool = make({ minChildren: 1, maxChildren: 2, spares: 0 });
    const child = env.fakes.children[0]!;
    child.ready();
    const run = pool.run('sideEffect');
    const id = child.sent[0]!.id;
    child.say({ type: 'exiting', started: [id] });
    child.exit(1);
    expect(await run.catch((e: unknown) => e)).to.be.instanceOf(TaskCrashedError);
    await env.clock.tickAsync(1000);
    expect(env.fakes.children.flatMap((c) => c.sent.map((m) => m.task))).to.deep.equal(['sideEffect']);
  });

  it('8. a { type: "ready" } sent by a task (unmarked, or while running) never sends its run again', async () => {
    const pool = make({ minChildren: 1, maxChildren: 1, spares: 0 });
    const child = env.fakes.children[0]!;
    child.ready();
    void pool.run('once');
    child.emit('message', { type: 'ready' });
    child.ready();
    expect(child.sent.map((m) => m.task)).to.deep.equal(['once']);
  });

  it('1. a timeout signals the child\'s whole process group, and a child that exits has its group cleaned up', async () => {
    const pool = make({ minChildren: 1, maxChildren: 1, spares: 0, timeoutMs: 100, killGraceMs: 50 });
    const child = env.fakes.children[0]!;
    child.ready();
    void pool.run('hang').catch(() => {});
    await env.clock.tickAsync(102);
    expect(env.fakes.killGroup.calledWith(child.pid, 'SIGTERM')).to.equal(true);
    await env.clock.tickAsync(50);
    expect(env.fakes.killGroup.calledWith(child.pid, 'SIGKILL')).to.equal(true);
    env.fakes.killGroup.resetHistory();
    child.exit(null, 'SIGKILL');
    expect(env.fakes.killGroup.calledOnceWith(child.pid, 'SIGKILL'), 'what it left behind goes too').to.equal(true);
  });
});

describe('hostile round two: options and small parts', () => {
  it('9. env with a NUL byte, an "=" in a name or a non-string is refused at construction, without echoing the value', () => {
    const check = (env: unknown) => () => resolvePoolOptions({ tasks: '/t.js', env: env as Record<string, string> });
    expect(check({ DB: 'a\0secret' })).to.throw(TypeError, 'option env: DB contains a NUL byte, which no environment can hold');
    expect(check({ 'A=B': 'x' })).to.throw(TypeError, 'option env: variable names must be non-empty, without "=" or NUL bytes; got "A=B"');
    expect(check({ '': 'x' })).to.throw(TypeError, /variable names must be non-empty/);
    expect(check({ N: 1 })).to.throw(TypeError, 'option env: N must be a string, got number');
    expect(() => resolvePoolOptions({ tasks: '/t.js', inheritEnv: 'PATH' as never })).to.throw(TypeError, /option inheritEnv must be true/);
  });

  it('childEnv: all of the parent\'s variables by default, none, or the names listed; env on top', () => {
    const parent = { PATH: '/bin', HOME: '/root', SECRET: 's' };
    const base = { env: { ADDED: '1' } };
    expect(childEnv({ ...base, inheritEnv: true }, parent)).to.deep.equal({ ...parent, ADDED: '1' });
    expect(childEnv({ ...base, inheritEnv: false }, parent)).to.deep.equal({ ADDED: '1' });
    expect(childEnv({ env: undefined, inheritEnv: ['PATH', 'MISSING'] }, parent)).to.deep.equal({ PATH: '/bin' });
  });

  it('memory caps below what a bare child takes are refused', () => {
    expect(() => resolvePoolOptions({ tasks: '/t.js', maxMemoryMb: 30 })).to.throw(RangeError, 'option maxMemoryMb must be at least 64 MiB (a bare child takes about 45), or Infinity for none; got 30');
    expect(() => resolvePoolOptions({ tasks: '/t.js', recycleMemoryMb: 10 })).to.throw(RangeError, /recycleMemoryMb must be at least 64/);
    expect(resolvePoolOptions({ tasks: '/t.js', maxMemoryMb: 64 }).maxMemoryMb).to.equal(64);
  });

  it('a misspelt task name answers 500 without the module\'s list of exports', () => {
    const error = new TaskError('hashPasword', { name: 'UnknownTaskError', message: 'no task "hashPasword" in file:///srv/app/tasks.js; it exports: hashPassword, verify', props: {} });
    expect(failureResponse(error).body).to.equal('task "hashPasword" is not a task of the server\'s tasks module; see its log\n');
  });

  it('a 400 body shows a client\'s escape sequences as \\xNN, never raw', () => {
    const answer = failureResponse(new HttpError(400, 'unknown region "\x1b[31mred\x07"; use north'));
    expect(answer.body).to.equal('unknown region "\\x1b[31mred\\x07"; use north\n');
  });

  it('LogWriter: a reader that has gone (EPIPE) turns the log off, counted as dropped; no error escapes', async () => {
    const clock = sinon.useFakeTimers();
    try {
      const stream = Object.assign(new EventEmitter(), { write: sinon.stub().returns(true) });
      const log = new LogWriter(stream);
      log.line('a');
      await clock.tickAsync(0);
      stream.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      log.line('b');
      await clock.tickAsync(0);
      expect(stream.write.callCount).to.equal(1);
      expect(log.stats()).to.include({ written: 1, dropped: 1 });
    } finally {
      clock.restore();
    }
  });

  it('the group guard writes + and - lines to one shell, started on first use, and none where there is no shell', () => {
    const writes: string[] = [];
    const shell = Object.assign(new EventEmitter(), { pid: 42, unref: sinon.spy(), stdin: Object.assign(new EventEmitter(), { writable: true, unref: sinon.spy(), write: (line: string) => writes.push(line) }) });
    const spawn = sinon.stub().returns(shell);
    const guard = new ShellGroupGuard(spawn, true);
    guard.remove(7);
    expect(spawn.called, 'nothing to remove before anything was added').to.equal(false);
    guard.add(7);
    guard.add(8);
    guard.remove(7);
    expect(spawn.calledOnce).to.equal(true);
    expect(spawn.firstCall.args[2]).to.include({ detached: true });
    expect(writes).to.deep.equal(['+ 7\n', '+ 8\n', '- 7\n']);
    shell.emit('exit', 0, null);
    guard.add(9);
    expect(spawn.calledTwice, 'a guard killed from outside is started again').to.equal(true);
    const none = new ShellGroupGuard(spawn, false);
    none.add(1);
    expect(spawn.calledTwice).to.equal(true);
  });
});

describe('offload() shedding on event-loop delay (maxLoopDelayMs, loopPressure)', () => {
  let server: http.Server;
  afterEach(() => new Promise((resolve) => server.close(resolve)));

  it('refuses new runs with 503 and Retry-After while the loop is late, and runs them again once it is not', async () => {
    let now = 0;
    const pressure = new LoopPressure(100, () => now);
    const run = sinon.stub().resolves('ran');
    server = http.createServer(offload({ run } as unknown as TaskRunner, 'task', () => [], { loopPressure: pressure }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    now = 1000; // the loop has not beaten for 900 ms past its beat: a stall going on
    const refused = await request(`${base}/`);
    expect(refused).to.include({ status: 503, body: 'server overloaded: its event loop is 900 ms late (limit 100 ms); retry in a second\n' });
    expect(refused.headers['retry-after']).to.equal('1');
    expect(run.called, 'no run while shedding').to.equal(false);
    now = 50;
    expect((await request(`${base}/`)).body).to.equal('ran');
    expect(pressure.stats()).to.include({ shed: 1 });
    pressure.stop();
    expect(() => offload({ run } as unknown as TaskRunner, 'task', () => [], { maxLoopDelayMs: 0 })).to.throw(RangeError, /maxDelayMs must be a number of ms above 0/);
  });
});

describe('requestSignal()', () => {
  let server: http.Server;
  afterEach(() => new Promise((resolve) => server.close(resolve)));

  it('aborts when the client leaves before its answer, and not after a finished one', async () => {
    const signals: AbortSignal[] = [];
    let answerNow = true;
    server = http.createServer((req, res) => {
      signals.push(requestSignal(req, res));
      if (answerNow) res.end('done\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect((await request(`${base}/`)).body).to.equal('done\n');
    answerNow = false;
    const req = http.get(`${base}/`, { agent: false });
    req.on('error', () => {});
    await new Promise((resolve) => setTimeout(resolve, 100));
    req.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(signals.map((signal) => signal.aborted)).to.deep.equal([false, true]);
  });
});

describe('hostile round two: offload argsFrom bound', () => {
  let server: http.Server;
  afterEach(() => new Promise((resolve) => server.close(resolve)));

  it('an argsFrom promise that never settles is answered 408 after argsTimeoutMs, and no task runs', async () => {
    const run = sinon.stub().resolves('never');
    const handler = offload({ run } as unknown as TaskRunner, 'task', () => new Promise<[]>(() => {}), { argsTimeoutMs: 50 });
    server = http.createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const answer = await request(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    expect(answer).to.include({ status: 408, body: 'request timed out: its arguments were not read within 50 ms; send the whole request at once\n' });
    expect(run.called).to.equal(false);
    expect(() => offload({ run } as unknown as TaskRunner, 'task', () => [], { argsTimeoutMs: 0 })).to.throw(RangeError, /offload option argsTimeoutMs must be above 0/);
  });
});
