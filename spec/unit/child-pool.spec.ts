// ChildPool's options beyond the two classic shapes (see child-pool-warm and
// child-pool-per-task): ready(), task limits, spares with minChildren, the
// timeout's start, inherited loader flags and option checks.
import { expect } from 'chai';
import { ChildPool } from '../../lib/pool/child-pool.js';
import { PoolClosedError, TaskLoadError, TaskTimeoutError } from '../../lib/pool/errors.js';
import { loaderFlags } from '../../lib/pool/exec-argv.js';
import type { ChildPoolOptions } from '../../lib/pool/pool-options.js';
import { flush, useFakeProcessesAndClock } from '../support/fake-child.js';

describe('ChildPool (faked fork)', () => {
  const env = useFakeProcessesAndClock();
  const make = (options: Partial<ChildPoolOptions> = {}, deps = {}) => new ChildPool({ tasks: '/tasks.js', ...options }, { ...env.fakes.deps, ...deps });

  describe('ready()', () => {
    it('resolves once minChildren children are ready', async () => {
      const pool = make({ minChildren: 2, maxChildren: 3, spares: 0 });
      let ready = false;
      void pool.ready().then(() => (ready = true));
      expect(env.fakes.children).to.have.length(2);
      env.fakes.children[0]!.ready();
      await flush();
      expect(ready, 'one of two').to.equal(false);
      env.fakes.children[1]!.ready();
      await flush();
      expect(ready).to.equal(true);
      await pool.ready(); // already there: resolves at once
    });

    it('waits for the spares when they are more than minChildren, and resolves at once when the pool keeps none', async () => {
      const pool = make({ minChildren: 0, spares: 1 });
      let ready = false;
      void pool.ready().then(() => (ready = true));
      await flush();
      expect(ready).to.equal(false);
      env.fakes.children[0]!.ready();
      await flush();
      expect(ready).to.equal(true);
      await make({ minChildren: 0, spares: 0 }).ready();
    });

    it('rejects with the load error when the tasks module cannot load', async () => {
      const pool = make({ minChildren: 1 });
      const waiting = pool.ready();
      const child = env.fakes.children[0]!;
      child.emit('message', { type: 'load-error', error: { name: 'SyntaxError', message: 'Unexpected token', props: {} } });
      child.exit(1);
      const error = await waiting.catch((e: unknown) => e);
      expect(error).to.be.instanceOf(TaskLoadError);
      expect((error as Error).message).to.equal('cannot load tasks module file:///tasks.js: SyntaxError: Unexpected token');
    });

    it('rejects with PoolClosedError when the pool closes first, or is already closed', async () => {
      const pool = make({ minChildren: 1 });
      const waiting = pool.ready();
      void pool.destroy();
      expect(await waiting.catch((e: unknown) => e)).to.be.instanceOf(PoolClosedError);
      expect(await pool.ready().catch((e: unknown) => e)).to.be.instanceOf(PoolClosedError);
    });
  });

  it('the timeout counts from when a ready child gets the task, not while the child starts', async () => {
    const pool = make({ timeoutMs: 100, spares: 0 });
    const result = pool.run('add');
    let settled = false;
    void result.catch(() => (settled = true));
    await env.clock.tickAsync(5000); // a slow start-up on a busy machine
    expect(settled, 'no timeout while the child starts').to.equal(false);
    env.fakes.children[0]!.ready();
    await env.clock.tickAsync(99);
    expect(settled).to.equal(false);
    await env.clock.tickAsync(1);
    expect(await result.catch((e: unknown) => e)).to.be.instanceOf(TaskTimeoutError);
  });

  it('tasksPerChild: a child serves that many tasks, then leaves and is replaced; no task waits on it', async () => {
    const pool = make({ tasksPerChild: 3, minChildren: 1, maxChildren: 1, spares: 0 });
    const first = env.fakes.children[0]!;
    expect(first.mode).to.equal('3');
    first.ready();
    const results = [];
    for (let i = 0; i < 3; i += 1) {
      const result = pool.run('echo', [i]);
      first.answer(i);
      results.push(await result);
    }
    expect(results).to.deep.equal([0, 1, 2]);
    const fourth = pool.run('echo', [3]);
    expect(first.sent, 'the used-up child gets no fourth task').to.have.length(3);
    first.exit(0); // it leaves by itself after its last answer
    await env.clock.tickAsync(0);
    const second = env.fakes.children[1]!;
    second.ready();
    expect(second.sent[0]!.args).to.deep.equal([3]);
    second.answer(3);
    expect(await fourth).to.equal(3);
    expect(pool.stats()).to.include({ completed: 4, crashed: 0, failed: 0 });
  });

  it('keeps minChildren alive and spares idle, starts more on demand within maxChildren, and replaces a spare after the answer', async () => {
    const pool = make({ minChildren: 2, spares: 1, maxChildren: 3, tasksPerChild: 1 });
    expect(env.fakes.children, 'two kept; both idle, so one spare is already there').to.have.length(2);
    for (const child of env.fakes.children) child.ready();
    const results = ['a', 'b', 'c', 'd'].map((task) => pool.run(task));
    expect(env.fakes.children, 'a third child for the third task, never a fourth').to.have.length(3);
    expect(pool.stats()).to.include({ running: 3, queued: 1, children: 3 });
    await env.clock.tickAsync(0);
    expect(env.fakes.children, 'no fork while tasks wait for answers').to.have.length(3);
    const [first] = env.fakes.children;
    first!.answer('A');
    first!.exit(0);
    expect(env.fakes.children, 'the queued task gets a new child at once').to.have.length(4);
    await env.clock.tickAsync(0);
    expect(pool.stats()).to.include({ completed: 1, running: 3, queued: 0, children: 3 });
    expect(await results[0]).to.equal('A');
  });

  it('children inherit the parent\'s loader flags unless execArgv is given', () => {
    make({}, { parentExecArgv: ['--import', 'tsx', '--inspect=9229', '--max-old-space-size=4096', '--experimental-vm-modules'] });
    expect(env.fakes.fork.lastCall.args[2].execArgv).to.deep.equal(['--import', 'tsx', '--experimental-vm-modules']);
    make({ execArgv: ['--max-old-space-size=64'] }, { parentExecArgv: ['--import', 'tsx'] });
    expect(env.fakes.fork.lastCall.args[2].execArgv).to.deep.equal(['--max-old-space-size=64']);
  });

  it('loaderFlags keeps --import, --loader, --require and --experimental-* in both spellings', () => {
    expect(loaderFlags(['--require', './a.cjs', '-r', 'b', '--import=tsx', '--loader', 'ts-node/esm', '--experimental-loader=x', '--no-experimental-fetch', '--inspect', '--stack-size=100'])).to.deep.equal([
      '--require', './a.cjs', '-r', 'b', '--import=tsx', '--loader', 'ts-node/esm', '--experimental-loader=x', '--no-experimental-fetch',
    ]);
    expect(loaderFlags(['--import'])).to.deep.equal(['--import']);
  });

  const badOptions: [Partial<ChildPoolOptions>, ErrorConstructor, RegExp][] = [
    [{ tasks: '' }, TypeError, /option tasks is required/],
    [{ maxChildren: 0 }, RangeError, /maxChildren must be a whole number from 1 to 1024/],
    [{ maxChildren: 5000 }, RangeError, /maxChildren must be a whole number from 1 to 1024/],
    [{ maxChildren: 2, minChildren: 3 }, RangeError, /minChildren must be a whole number from 0 to 2/],
    [{ maxChildren: 2, spares: 3 }, RangeError, /spares must be a whole number from 0 to 2/],
    [{ tasksPerChild: 0 }, RangeError, /tasksPerChild must be a whole number from 1 .* or Infinity/],
    [{ maxQueue: -1 }, RangeError, /maxQueue/],
    [{ niceness: 20 }, RangeError, /niceness/],
    [{ timeoutMs: 0 }, RangeError, /option timeoutMs must be above 0/],
    [{ timeoutMs: -5 }, RangeError, /option timeoutMs must be above 0/],
    [{ timeoutMs: Number.NaN }, RangeError, /option timeoutMs must be above 0/],
    [{ timeoutMs: 2 ** 31 }, RangeError, /at most 2147483647 ms/],
    [{ timeoutMs: '100' as unknown as number }, TypeError, /option timeoutMs must be a number of ms, got string/],
    [{ maxChildren: '2' as unknown as number }, TypeError, /option maxChildren must be a number, got string/],
    [{ execArgv: '--foo' as unknown as string[] }, TypeError, /execArgv must be an array of strings/],
  ];
  for (const [options, type, message] of badOptions) {
    it(`refuses ${JSON.stringify(options, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))} with a ${type.name}`, () => {
      expect(() => make(options)).to.throw(type, message);
      expect(env.fakes.fork.called, 'nothing started').to.equal(false);
    });
  }

  it('takes Infinity for timeoutMs, tasksPerChild and maxQueue', () => {
    const pool = make({ timeoutMs: Infinity, tasksPerChild: Infinity, maxQueue: Infinity });
    expect(pool.options).to.include({ timeoutMs: Infinity, tasksPerChild: Infinity, maxQueue: Infinity });
  });

  it('a bad per-run timeout rejects that run and starts nothing', async () => {
    const pool = make({ spares: 0 });
    expect(await pool.run('a', [], { timeoutMs: 0 }).catch((e: unknown) => e)).to.be.instanceOf(RangeError);
    expect(await pool.run('a', [], { timeoutMs: 2 ** 40 }).catch((e: unknown) => e)).to.be.instanceOf(RangeError);
    expect(await pool.run('a', [], { timeoutMs: 'soon' as unknown as number }).catch((e: unknown) => e)).to.be.instanceOf(TypeError);
    expect(env.fakes.fork.called).to.equal(false);
  });

  it('a broken module makes runs fail fast, and a pool that keeps no child still retries it after a back-off', async () => {
    const pool = make({ spares: 0 });
    const first = pool.run('a');
    env.fakes.children[0]!.exit(1);
    expect(await first.catch((e: unknown) => e)).to.be.instanceOf(TaskLoadError);
    expect(await pool.run('b').catch((e: unknown) => e), 'fails at once').to.be.instanceOf(TaskLoadError);
    expect(env.fakes.children, 'without starting a doomed child').to.have.length(1);
    await env.clock.tickAsync(200);
    expect(env.fakes.children, 'a probe after the back-off').to.have.length(2);
    env.fakes.children[1]!.ready();
    const fixed = pool.run('c');
    env.fakes.children[1]!.answer('ok');
    expect(await fixed).to.equal('ok');
  });
});
