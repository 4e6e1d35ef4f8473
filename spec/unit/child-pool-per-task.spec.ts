import { expect } from 'chai';
import { ChildPool } from '../../lib/pool/child-pool.js';
import type { ChildPoolOptions } from '../../lib/pool/pool-options.js';
import { PoolClosedError, QueueFullError, TaskCrashedError, TaskError, TaskLoadError, TaskTimeoutError } from '../../lib/pool/errors.js';
import { FakeChild, flush, useFakeProcessesAndClock } from '../support/fake-child.js';

describe('ChildPool, a process per task (tasksPerChild 1, faked fork)', () => {
  const env = useFakeProcessesAndClock();

  const make = (options: Partial<ChildPoolOptions> = {}) =>
    new ChildPool({ tasks: '/tasks.js', tasksPerChild: 1, maxChildren: 4, spares: 0, ...options }, env.fakes.deps);

  it('forks one child per task with the tasks module URL, its task limit and advanced serialization', async () => {
    const executor = make();
    const result = executor.run('add', [1, 2]);
    expect(env.fakes.fork.callCount).to.equal(1);
    const [entry, args, options] = env.fakes.fork.firstCall.args;
    expect(entry).to.equal('/fake/child-entry.js');
    // Then the shared-memory threshold (off: fakes pass messages in memory) and this server's pid, which names the child's files there.
    expect(args, 'tasks module, task limit, result limit, shared-memory threshold, server pid').to.deep.equal(['file:///tasks.js', '1', 'Infinity', 'Infinity', String(process.pid)]);
    expect(options.serialization).to.equal('advanced');
    const child = env.fakes.children[0]!;
    expect(child.sent, 'nothing is sent before the child is ready').to.deep.equal([]);
    child.ready();
    expect(child.sent[0]).to.include({ type: 'run', task: 'add' });
    expect(child.sent[0]!.args).to.deep.equal([1, 2]);
    child.answer(3);
    expect(await result).to.equal(3);
    expect(executor.stats()).to.include({ completed: 1, running: 0 });
  });

  it('lowers each child\'s CPU priority to the niceness option', () => {
    make({ niceness: 15 }).run('add');
    expect(env.fakes.setPriority.calledOnceWith(env.fakes.children[0]!.pid, 15)).to.equal(true);
    make({ niceness: 0 }).run('add');
    expect(env.fakes.setPriority.callCount, 'niceness 0 leaves the priority alone').to.equal(1);
  });

  it('rejects with TaskError keeping the remote name, message, stack and properties', async () => {
    const executor = make();
    const result = executor.run('boom');
    env.fakes.children[0]!.ready();
    env.fakes.children[0]!.fail({ name: 'RangeError', message: 'too big', stack: 'RangeError: too big\n    at child', props: { code: 'E_BIG', limit: 3 } });
    const error = await result.catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TaskError);
    expect(error).to.include({ name: 'RangeError', message: 'too big', code: 'E_BIG', limit: 3, task: 'boom' });
    expect((error as Error).stack).to.equal('RangeError: too big\n    at child');
    expect(executor.stats().failed).to.equal(1);
  });

  it('rejects with TaskCrashedError when the child exits without answering', async () => {
    const executor = make();
    const result = executor.run('add');
    env.fakes.children[0]!.ready();
    env.fakes.children[0]!.exit(null, 'SIGKILL');
    const error = await result.catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TaskCrashedError);
    expect(error).to.include({ exitCode: null, signal: 'SIGKILL' });
    expect((error as Error).message).to.match(/was killed by SIGKILL before answering/);
    expect(executor.stats()).to.include({ crashed: 1, children: 0 });
  });

  it('rejects with TaskLoadError naming the module when the child cannot load it', async () => {
    const executor = make();
    const result = executor.run('add');
    const child = env.fakes.children[0]!;
    child.say({ type: 'load-error', error: { name: 'SyntaxError', message: 'Unexpected token', props: {} } });
    child.exit(1);
    const error = await result.catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TaskLoadError);
    expect((error as Error).message).to.equal('cannot load tasks module file:///tasks.js: SyntaxError: Unexpected token');
  });

  it('treats a child that dies before it is ready as a load failure', async () => {
    const executor = make();
    const result = executor.run('add');
    env.fakes.children[0]!.exit(3);
    const error = await result.catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TaskLoadError);
    expect((error as Error).message).to.match(/exited with code 3 before it was ready/);
  });

  it('fails a run whose arguments cannot be serialized, and the executor goes on', async () => {
    const executor = make();
    const result = executor.run('echo', [() => {}]);
    const child = env.fakes.children[0]!;
    child.send = () => {
      throw new DOMException('function could not be cloned', 'DataCloneError');
    };
    child.ready();
    const error = await result.catch((e: unknown) => e);
    // Not V8's DataCloneError, whose message quotes the value: one naming the task.
    expect(error).to.be.instanceOf(TypeError);
    expect(error).to.include({ code: 'ERR_UNCLONEABLE', message: 'the arguments of task "echo" cannot be copied to another process: it holds a function, a symbol or another value V8\'s serializer refuses; send plain data' });
    expect(executor.stats()).to.include({ failed: 1, running: 0 });
  });

  it('times out: rejects with TaskTimeoutError, SIGTERMs the child, SIGKILLs it after the grace', async () => {
    const executor = make({ timeoutMs: 1000, killGraceMs: 200 });
    const result = executor.run('spin').catch((e: unknown) => e); // caught now: it rejects inside tickAsync
    const child = env.fakes.children[0]!;
    child.ready();
    await env.clock.tickAsync(999);
    expect(child.kill.called).to.equal(false);
    await env.clock.tickAsync(2); // the timer, then the check after that turn's I/O
    const error = await result;
    expect(error).to.be.instanceOf(TaskTimeoutError);
    expect((error as Error).message).to.equal('task "spin" timed out after 1000 ms; its child process was killed');
    expect(child.kill.firstCall.args[0]).to.equal('SIGTERM');
    await env.clock.tickAsync(200);
    expect(child.kill.secondCall.args[0]).to.equal('SIGKILL');
    child.exit(null, 'SIGKILL');
    expect(executor.stats()).to.include({ timedOut: 1, crashed: 0, children: 0 });
  });

  it('a per-run timeout overrides the default', async () => {
    const executor = make({ timeoutMs: 60_000 });
    const result = executor.run('spin', [], { timeoutMs: 50 });
    env.fakes.children[0]!.ready();
    await env.clock.tickAsync(51); // the timer, then the check after that turn's I/O
    expect(await result.catch((e: unknown) => e)).to.be.instanceOf(TaskTimeoutError);
  });

  it('an answer read in the turn its timeout fires wins (it was waiting in the pipe); one after the timeout is ignored', async () => {
    const executor = make({ timeoutMs: 10 });
    const inTime = executor.run('add');
    const first = env.fakes.children[0]!;
    first.ready();
    await env.clock.tickAsync(10); // the timer has fired; its check waits for this turn's I/O
    first.answer(41);
    expect(await inTime).to.equal(41);
    const late = executor.run('add');
    const second = env.fakes.children[1]!;
    second.ready();
    await env.clock.tickAsync(11);
    second.answer(42);
    expect(await late.catch((e: unknown) => e)).to.be.instanceOf(TaskTimeoutError);
    expect(executor.stats()).to.include({ completed: 1, timedOut: 1 });
  });

  it('never runs more than maxChildren children; the rest wait in FIFO order', async () => {
    const executor = make({ maxChildren: 2 });
    const results = [1, 2, 3, 4].map((n) => executor.run('echo', [n]));
    expect(env.fakes.children).to.have.length(2);
    expect(executor.stats(), 'runs wait in the queue until a child is ready').to.include({ running: 0, queued: 4 });
    const [first, second] = env.fakes.children;
    first!.ready();
    expect(executor.stats()).to.include({ running: 1, queued: 3 });
    first!.answer('a');
    first!.exit(0);
    await env.clock.tickAsync(0); // the replacement starts in the turn after the exit
    expect(env.fakes.children).to.have.length(3);
    env.fakes.children[2]!.ready();
    expect(env.fakes.children[2]!.sent[0]!.args, 'the oldest waiting task goes to the first child ready, not to one still starting').to.deep.equal([2]);
    second!.ready();
    expect(second!.sent[0]!.args).to.deep.equal([3]);
    second!.answer('c');
    second!.exit(0);
    await env.clock.tickAsync(0);
    env.fakes.children[3]!.ready();
    env.fakes.children[2]!.answer('b');
    env.fakes.children[3]!.answer('d');
    expect(await Promise.all(results)).to.deep.equal(['a', 'b', 'c', 'd']);
  });

  it('refuses with QueueFullError beyond maxQueue waiting tasks', async () => {
    const executor = make({ maxChildren: 1, maxQueue: 1 });
    void executor.run('a');
    void executor.run('b');
    const error = await executor.run('c').catch((e: unknown) => e);
    expect(error).to.be.instanceOf(QueueFullError);
    expect((error as Error).message).to.match(/1 tasks already wait; try again later/);
    expect(executor.stats(), 'one run waits for the starting child, one beyond it').to.include({ rejected: 1, running: 0, queued: 2 });
  });

  it('by default queues as many runs as a script gives it: 1000 wait for one child, none refused', async () => {
    const executor = make({ maxChildren: 1 });
    const runs = Array.from({ length: 1000 }, (_, i) => executor.run('a', [i]).catch((e: unknown) => e));
    await flush();
    expect(executor.stats()).to.include({ rejected: 0, queued: 1000 });
    const destroyed = executor.destroy();
    for (const child of env.fakes.children) child.exit(null, 'SIGKILL');
    await destroyed;
    expect((await Promise.all(runs)).every((e) => e instanceof PoolClosedError)).to.equal(true);
  });

  it('a run\'s own maxQueue refuses it beyond that many waiting, below the pool\'s bound; runs without one still wait', async () => {
    const executor = make({ maxChildren: 1, maxQueue: 5 });
    void executor.run('a').catch(() => {});
    void executor.run('b').catch(() => {});
    void executor.run('c').catch(() => {});
    const refused = await executor.run('d', [], { maxQueue: 1 }).catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(QueueFullError);
    expect(refused).to.include({ maxQueue: 1 });
    expect((refused as Error).message).to.match(/1 tasks already wait; try again later/);
    void executor.run('e').catch(() => {});
    expect(executor.stats(), 'one run waits for the starting child, three beyond it').to.include({ rejected: 1, queued: 4 });
    // The pool's bound still applies to a run whose own is larger: five may wait beyond the starting child's run.
    void executor.run('f', [], { maxQueue: 100 }).catch(() => {});
    void executor.run('g', [], { maxQueue: 100 }).catch(() => {});
    expect(await executor.run('h', [], { maxQueue: 100 }).catch((e: unknown) => e)).to.include({ maxQueue: 5 });
    expect(executor.stats()).to.include({ rejected: 2, queued: 6 });
  });

  it('a bad run maxQueue rejects with one line', async () => {
    const executor = make();
    expect(String(await executor.run('a', [], { maxQueue: -1 }).catch((e: unknown) => e))).to.equal('RangeError: option maxQueue of a run must be a whole number from 0 to 9007199254740991 or Infinity, got -1');
  });

  it('abort while waiting removes the task from the queue with the signal\'s reason', async () => {
    const executor = make({ maxChildren: 1 });
    void executor.run('a');
    const controller = new AbortController();
    const waiting = executor.run('b', [], { signal: controller.signal });
    controller.abort();
    const error = await waiting.catch((e: unknown) => e);
    expect((error as Error).name).to.equal('AbortError');
    expect(executor.stats(), 'only the first run waits, for its starting child').to.include({ queued: 1, aborted: 1 });
    expect(env.fakes.children).to.have.length(1);
  });

  it('abort while running kills the child', async () => {
    const executor = make();
    const controller = new AbortController();
    const running = executor.run('a', [], { signal: controller.signal });
    env.fakes.children[0]!.ready();
    controller.abort(new Error('client went away'));
    expect((await running.catch((e: unknown) => e) as Error).message).to.equal('client went away');
    expect(env.fakes.children[0]!.kill.calledWith('SIGTERM')).to.equal(true);
    env.fakes.children[0]!.exit(null, 'SIGTERM');
    expect(executor.stats()).to.include({ aborted: 1, crashed: 0, children: 0 });
  });

  it('an already aborted signal rejects at once and forks nothing', async () => {
    const executor = make();
    const error = await executor.run('a', [], { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect((error as Error).name).to.equal('AbortError');
    expect(env.fakes.fork.called).to.equal(false);
  });

  it('keeps a spare child started ahead of demand, replaced after the answer, not when taken', async () => {
    const executor = make({ spares: 1, maxChildren: 2 });
    expect(env.fakes.children).to.have.length(1);
    const spare = env.fakes.children[0]!;
    spare.ready();
    const result = executor.run('add', [2, 2]);
    expect(spare.sent, 'the warm spare takes the task at once').to.have.length(1);
    await env.clock.tickAsync(0);
    expect(env.fakes.children, 'no fork while the task waits for its answer').to.have.length(1);
    spare.answer(4);
    expect(env.fakes.children, 'fork() waits until the answer has been handled').to.have.length(1);
    expect(await result).to.equal(4);
    await env.clock.tickAsync(0);
    expect(env.fakes.children, 'a new spare replaces it').to.have.length(2);
    expect(env.fakes.children[1]!.mode).to.equal('1');
  });

  it('spares follow the arrival rate: at 10 tasks/s with 150 ms start-ups, each task finds a ready child', async () => {
    const pool = make({ spares: 1, maxChildren: 8, maxStartsPerSecond: Infinity });
    const bornAt = new Map<FakeChild, number>();
    const sentAt = new Map<FakeChild, number>();
    const waited: boolean[] = [];
    for (let t = 0; t <= 4000; t += 10) {
      for (const child of env.fakes.children) {
        if (!bornAt.has(child)) bornAt.set(child, t);
        if (t - bornAt.get(child)! === 150) child.ready();
        if (child.sent.length === 1 && !sentAt.has(child)) sentAt.set(child, t);
        if (sentAt.get(child) === t - 10) {
          child.answer('ok');
          child.exit(0);
        }
      }
      if (t % 100 === 0) {
        void pool.run('a');
        // Sent in the same turn only if a ready child was there to take it.
        waited.push(!env.fakes.children.some((child) => child.sent.length === 1 && !sentAt.has(child)));
      }
      await env.clock.tickAsync(10);
    }
    expect(pool.stats().spares, '1.5 tasks arrive during a start-up').to.equal(2);
    expect(waited.slice(0, 10).filter(Boolean).length, 'the first second, before the rate is known, some wait').to.be.above(0);
    expect(waited.slice(-25).filter(Boolean), 'the last 2.5 s: none waited for a start-up').to.deep.equal([]);
    expect(pool.stats()).to.include({ completed: 40, failed: 0 });
    expect(env.fakes.children.length, 'no more children than tasks, plus the spares').to.be.at.most(41 + 2);
  });

  it('a lone task on a slow machine (600 ms start-ups) takes the spare without a start beside it', async () => {
    const pool = make({ spares: 1, maxChildren: 4, maxStartsPerSecond: Infinity });
    await env.clock.tickAsync(600);
    env.fakes.children[0]!.ready();
    void pool.run('a');
    await env.clock.tickAsync(1);
    expect(env.fakes.children, 'no fork while the task runs').to.have.length(1);
    expect(pool.stats().spares).to.equal(1);
  });

  it('spares fall back to the option once tasks stop arriving', async () => {
    const pool = make({ spares: 1, maxChildren: 8 });
    await env.clock.tickAsync(300);
    env.fakes.children[0]!.ready(); // a start-up of 300 ms
    for (let i = 0; i < 20; i += 1) void pool.run('a');
    expect(pool.stats().spares, '20 arrivals in a moment, 300 ms start-ups: 6 expected per start-up').to.equal(6);
    await env.clock.tickAsync(10_000);
    expect(pool.stats().spares).to.equal(1);
    expect(make({ spares: 0 }).stats().spares, 'spares 0 stays 0').to.equal(0);
  });

  it('spares count within maxChildren', async () => {
    const executor = make({ spares: 1, maxChildren: 2 });
    env.fakes.children[0]!.ready();
    void executor.run('a');
    void executor.run('b');
    void executor.run('c');
    await env.clock.tickAsync(0);
    expect(env.fakes.children, 'two children, both busy, no spare beyond maxChildren').to.have.length(2);
    expect(executor.stats(), 'the spare took one; two wait, one of them for the starting child').to.include({ running: 1, queued: 2, children: 2 });
  });

  it('backs off when spares die at start instead of restarting them in a loop', async () => {
    make({ spares: 1 });
    for (let i = 0; i < 10; i += 1) {
      env.fakes.children.at(-1)!.exit(1);
      await env.clock.tickAsync(100);
    }
    expect(env.fakes.fork.callCount, 'at most a few restarts in a second').to.be.at.most(4);
  });

  it('retires a child after its one answer: SIGKILL if it has not exited after the grace', async () => {
    const executor = make({ killGraceMs: 300 });
    const result = executor.run('add');
    const child = env.fakes.children[0]!;
    child.ready();
    child.answer(1);
    await result;
    await env.clock.tickAsync(300);
    expect(child.kill.calledOnceWith('SIGKILL')).to.equal(true);
  });

  it('close() finishes queued and running tasks, then resolves when every child is gone', async () => {
    const executor = make({ maxChildren: 1, spares: 1 });
    const spare = env.fakes.children[0]!;
    spare.ready();
    const a = executor.run('a');
    const b = executor.run('b');
    let closed = false;
    const closing = executor.close().then(() => (closed = true));
    expect((await executor.run('c').catch((e: unknown) => e))).to.be.instanceOf(PoolClosedError);
    spare.answer('A');
    spare.exit(0);
    await env.clock.tickAsync(0); // the replacement starts in the turn after the exit
    const next = env.fakes.children.at(-1)!;
    next.ready();
    next.answer('B');
    await flush();
    expect(closed).to.equal(false);
    next.exit(0);
    await closing;
    expect(await Promise.all([a, b])).to.deep.equal(['A', 'B']);
  });

  it('destroy() rejects pending runs and SIGKILLs every child', async () => {
    const executor = make({ maxChildren: 1 });
    const running = executor.run('a');
    const queued = executor.run('b');
    const destroyed = executor.destroy();
    for (const child of env.fakes.children) {
      expect(child.kill.calledWith('SIGKILL')).to.equal(true);
      child.exit(null, 'SIGKILL');
    }
    await destroyed;
    expect(await running.catch((e: unknown) => e)).to.be.instanceOf(PoolClosedError);
    expect(await queued.catch((e: unknown) => e)).to.be.instanceOf(PoolClosedError);
    expect(executor.stats().children).to.equal(0);
  });

  it('rejects bad arguments to run() and bad options', async () => {
    const executor = make();
    expect(await executor.run('').catch((e: unknown) => e)).to.be.instanceOf(TypeError);
    expect(await executor.run('a', 'x' as unknown as unknown[]).catch((e: unknown) => e)).to.be.instanceOf(TypeError);
    expect(() => make({ maxChildren: 0 })).to.throw(RangeError, /maxChildren must be a whole number from 1/);
    expect(() => make({ niceness: 20 })).to.throw(RangeError, /niceness/);
    expect(() => make({ timeoutMs: -1 })).to.throw(RangeError, /timeoutMs/);
  });
});
