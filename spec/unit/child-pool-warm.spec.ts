import { expect } from 'chai';
import { ChildPool } from '../../lib/pool/child-pool.js';
import { PoolClosedError, TaskCrashedError, TaskLoadError } from '../../lib/pool/errors.js';
import type { ChildPoolOptions } from '../../lib/pool/pool-options.js';
import { flush, useFakeProcessesAndClock } from '../support/fake-child.js';

describe('ChildPool, warm children (minChildren = maxChildren, faked fork)', () => {
  const env = useFakeProcessesAndClock();

  const make = ({ size = 2, ...options }: Partial<ChildPoolOptions> & { size?: number } = {}) =>
    new ChildPool({ tasks: 'file:///tasks.js', minChildren: size, maxChildren: size, spares: 0, ...options }, env.fakes.deps);
  const readyAll = () => env.fakes.children.forEach((child) => child.ready());

  it('starts minChildren warm children with no task limit at construction', () => {
    make({ size: 3 });
    expect(env.fakes.children.map((child) => child.mode)).to.deep.equal(['Infinity', 'Infinity', 'Infinity']);
  });

  it('runs one task per child at a time, the rest FIFO, and reuses children', async () => {
    const pool = make();
    readyAll();
    const results = [1, 2, 3].map((n) => pool.run('echo', [n]));
    const [a, b] = env.fakes.children;
    expect(a!.sent).to.have.length(1);
    expect(b!.sent).to.have.length(1);
    expect(pool.stats()).to.include({ running: 2, queued: 1 });
    b!.answer('two');
    expect(b!.sent.at(-1)!.args, 'the freed child takes the next task').to.deep.equal([3]);
    b!.answer('three');
    a!.answer('one');
    expect(await Promise.all(results)).to.deep.equal(['one', 'two', 'three']);
    expect(env.fakes.fork.callCount, 'no new child was needed').to.equal(2);
  });

  it('hands a task to a starting child, which sends it the moment it is ready', async () => {
    const pool = make({ size: 1 });
    const result = pool.run('add', [1, 1]);
    const child = env.fakes.children[0]!;
    expect(child.sent).to.have.length(0);
    child.ready();
    child.answer(2);
    expect(await result).to.equal(2);
  });

  it('a crash mid-task rejects that run with TaskCrashedError and starts a replacement at once', async () => {
    const pool = make({ size: 1 });
    readyAll();
    const result = pool.run('a');
    env.fakes.children[0]!.exit(137);
    const error = await result.catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TaskCrashedError);
    expect(error).to.include({ exitCode: 137, signal: null });
    await env.clock.tickAsync(0);
    expect(env.fakes.children).to.have.length(2);
    env.fakes.children[1]!.ready();
    const next = pool.run('b');
    env.fakes.children[1]!.answer('ok');
    expect(await next).to.equal('ok');
    expect(pool.stats()).to.include({ crashed: 1, completed: 1, children: 1 });
  });

  it('a tasks module that cannot load: runs reject with TaskLoadError naming it, restarts back off', async () => {
    const pool = make({ size: 2 });
    const waiting = pool.run('a');
    for (const child of [...env.fakes.children]) {
      child.say({ type: 'load-error', error: { name: 'Error', message: 'boom', props: {} } });
      child.exit(1);
    }
    const error = await waiting.catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TaskLoadError);
    expect((error as Error).message).to.equal('cannot load tasks module file:///tasks.js: Error: boom');
    expect(await pool.run('b').catch((e: unknown) => e), 'later runs fail fast').to.be.instanceOf(TaskLoadError);

    // Each generation of children dies at start; count restarts over 3 seconds.
    const forksBefore = env.fakes.fork.callCount;
    for (let t = 0; t < 3000; t += 50) {
      for (const child of env.fakes.children) if (child.listenerCount('close') > 0 && child.connected) child.exit(1);
      await env.clock.tickAsync(50);
    }
    const restarts = env.fakes.fork.callCount - forksBefore;
    expect(restarts, 'restarts in 3 s').to.be.at.most(12);
    expect(restarts, 'it keeps trying').to.be.at.least(2);
  });

  it('recovers once a child starts: the load error is forgotten', async () => {
    const pool = make({ size: 1 });
    env.fakes.children[0]!.exit(1);
    await env.clock.tickAsync(5000);
    const fresh = env.fakes.children.at(-1)!;
    fresh.ready();
    const result = pool.run('a');
    fresh.answer('fine');
    expect(await result).to.equal('fine');
  });

  it('a child killed for a timeout is replaced, and queued tasks go on', async () => {
    const pool = make({ size: 1, timeoutMs: 100 });
    readyAll();
    const slow = pool.run('slow').catch(() => {}); // caught now: it rejects inside tickAsync
    const next = pool.run('next');
    await env.clock.tickAsync(101); // the timer, then the check after that turn's I/O
    await slow;
    env.fakes.children[0]!.exit(null, 'SIGTERM');
    await env.clock.tickAsync(0);
    const replacement = env.fakes.children[1]!;
    replacement.ready();
    expect(replacement.sent[0]!.task).to.equal('next');
    replacement.answer('done');
    expect(await next).to.equal('done');
    expect(pool.stats()).to.include({ timedOut: 1, completed: 1, crashed: 0 });
  });

  it('a child that dies while idle is replaced after a back-off', async () => {
    make({ size: 1 });
    readyAll();
    env.fakes.children[0]!.exit(1);
    expect(env.fakes.children).to.have.length(1);
    await env.clock.tickAsync(200);
    expect(env.fakes.children).to.have.length(2);
  });

  it('close() lets queued tasks run, then asks the idle children to stop (teardown), SIGKILL after the grace', async () => {
    const pool = make({ size: 1, killGraceMs: 300 });
    readyAll();
    const a = pool.run('a');
    const b = pool.run('b');
    const closing = pool.close();
    const child = env.fakes.children[0]!;
    child.answer('A');
    expect(child.stops, 'still has a queued task').to.equal(0);
    child.answer('B');
    await flush(); // closing is looked at once the answer's callbacks have run
    expect(child.stops).to.equal(1);
    expect(child.kill.called, 'no signal while it tears down').to.equal(false);
    await env.clock.tickAsync(300);
    expect(child.kill.calledOnceWith('SIGKILL'), 'a teardown that outlasts the grace is cut').to.equal(true);
    child.exit(null, 'SIGKILL');
    await closing;
    expect(await Promise.all([a, b])).to.deep.equal(['A', 'B']);
    expect(env.fakes.children, 'no replacement after close').to.have.length(1);
  });

  it('destroy() rejects running and queued runs and kills every child', async () => {
    const pool = make({ size: 1 });
    readyAll();
    const a = pool.run('a');
    const b = pool.run('b');
    const destroyed = pool.destroy();
    env.fakes.children[0]!.exit(null, 'SIGKILL');
    await destroyed;
    expect(await a.catch((e: unknown) => e)).to.be.instanceOf(PoolClosedError);
    expect(await b.catch((e: unknown) => e)).to.be.instanceOf(PoolClosedError);
    await flush();
    expect(env.fakes.children).to.have.length(1);
    expect(await pool.destroy()).to.equal(undefined);
  });
});
