// ChildPool's options beyond the two classic shapes (see child-pool-warm and
// child-pool-per-task): ready(), task limits, spares with minChildren, the
// timeout's start, inherited loader flags and option checks.
import { expect } from 'chai';
import { ChildPool } from '../../lib/pool/child-pool.js';
import { getEventListeners } from 'node:events';
import { ChildStartError, DeadlineError, PoolClosedError, TaskCrashedError, TaskLoadError, TaskTimeoutError, UnknownTaskError } from '../../lib/pool/errors.js';
import { parentDeathLauncher } from '../../lib/pool/os/parent-death.js';
import { loaderFlags } from '../../lib/pool/launch/exec-argv.js';
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
      child.say({ type: 'load-error', error: { name: 'SyntaxError', message: 'Unexpected token', props: {} } });
      child.exit(1);
      const error = await waiting.catch((e: unknown) => e);
      expect(error).to.be.instanceOf(TaskLoadError);
      expect((error as Error).message).to.equal('cannot load tasks module file:///tasks.js: SyntaxError: Unexpected token');
    });

    it('rejects with UnknownTaskError naming the misspelt task a route expects, and the module\'s exports', async () => {
      const pool = make({ minChildren: 1 });
      pool.expectTask('hashPassword');
      pool.expectTask('hashPasword');
      const waiting = pool.ready();
      env.fakes.children[0]!.say({ type: 'ready', tasks: ['hashPassword', 'verify'] });
      const error = await waiting.catch((e: unknown) => e);
      expect(error).to.be.instanceOf(UnknownTaskError);
      expect((error as Error).message).to.equal('"hashPasword" is not a task of file:///tasks.js; it exports: hashPassword, verify');
      // Asked again, it says the same at once; a run of that name fails without a trip to a child.
      expect(await pool.ready().catch((e: unknown) => e)).to.be.instanceOf(UnknownTaskError);
      expect(await pool.run('hashPasword', []).catch((e: unknown) => e)).to.be.instanceOf(UnknownTaskError);
      expect(env.fakes.children[0]!.sent).to.deep.equal([]);
      const ok = pool.run('hashPassword', ['x']);
      expect(env.fakes.children[0]!.sent.map((run) => run.task)).to.deep.equal(['hashPassword']);
      env.fakes.children[0]!.answer('h');
      expect(await ok).to.equal('h');
    });

    it('resolves when every expected task is exported, and ignores a task list that is not strings', async () => {
      const pool = make({ minChildren: 2, spares: 0 });
      pool.expectTask('a');
      const waiting = pool.ready();
      env.fakes.children[0]!.say({ type: 'ready', tasks: [1, 2] as unknown as string[] });
      env.fakes.children[1]!.say({ type: 'ready', tasks: ['a'] });
      await waiting;
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
    await env.clock.tickAsync(2); // the timer, then the check after that turn's I/O
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
    expect(pool.stats(), 'the third task waits for the third child, the fourth for a free one').to.include({ running: 2, queued: 2, children: 3 });
    await env.clock.tickAsync(0);
    expect(env.fakes.children, 'no fork while tasks wait for answers').to.have.length(3);
    const [first] = env.fakes.children;
    first!.answer('A');
    first!.exit(0);
    await env.clock.tickAsync(0);
    expect(env.fakes.children, 'the queued task gets a new child in the turn after the exit').to.have.length(4);
    expect(pool.stats()).to.include({ completed: 1, running: 1, queued: 2, children: 3 });
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
    [{ spawner: 'yes' as unknown as boolean }, TypeError, /option spawner must be true or false, got string/],
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

describe('ChildPool faults (faked fork)', () => {
  const env = useFakeProcessesAndClock();
  const make = (options: Partial<ChildPoolOptions> = {}, deps = {}) => new ChildPool({ tasks: '/tasks.js', ...options }, { ...env.fakes.deps, ...deps });

  it('a run handed to a child that leaves before beginning it goes to another child, once', async () => {
    const pool = make({ minChildren: 1, maxChildren: 1, spares: 0 });
    const first = env.fakes.children[0]!;
    first.ready();
    const result = pool.run('add', [1, 2]);
    expect(first.sent).to.have.length(1);
    // A stray rejection from an earlier task: the child says it began nothing, and leaves.
    first.say({ type: 'exiting', started: [] });
    first.exit(1);
    await env.clock.tickAsync(0);
    const second = env.fakes.children[1]!;
    second.ready();
    expect(second.sent[0]!.task).to.equal('add');
    second.say({ type: 'exiting', started: [] });
    second.exit(1);
    const error = await result.catch((e: unknown) => e);
    expect(error, 'a second hand-back fails the run').to.be.instanceOf(TaskCrashedError);
  });

  it('a run the leaving child had begun is never run again: it fails as crashed', async () => {
    const pool = make({ minChildren: 1, maxChildren: 1, spares: 0 });
    const child = env.fakes.children[0]!;
    child.ready();
    const result = pool.run('add', [1, 2]);
    child.say({ type: 'exiting', started: [child.sent[0]!.id] });
    child.exit(1);
    expect(await result.catch((e: unknown) => e)).to.be.instanceOf(TaskCrashedError);
    await env.clock.tickAsync(0);
    expect(env.fakes.children.slice(1).flatMap((c) => c.sent)).to.deep.equal([]);
  });

  it('a child that announced it is leaving takes no new run', async () => {
    const pool = make({ minChildren: 1, maxChildren: 2, spares: 0 });
    const child = env.fakes.children[0]!;
    child.ready();
    child.say({ type: 'exiting', started: [] });
    void pool.run('add', [1, 1]);
    expect(child.sent).to.deep.equal([]);
    expect(env.fakes.children, 'a new child for it instead').to.have.length(2);
  });

  it('spawn EMFILE or EAGAIN fails the run with ChildStartError (overload), not a load error', async () => {
    const fork = (..._args: unknown[]) => {
      const child = env.fakes.fork(...(_args as [string, string[], object]));
      Object.defineProperty(child, 'pid', { value: undefined });
      setImmediate(() => child.emit('error', Object.assign(new Error('spawn EMFILE'), { code: 'EMFILE' })));
      return child;
    };
    const pool = make({ spares: 0 }, { fork });
    const error = await Promise.all([pool.run('a'), env.clock.tickAsync(0)]).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ChildStartError);
    expect(error).to.include({ errno: 'EMFILE', code: 'ERR_CHILD_START' });
  });

  it('a child not ready within startTimeoutMs is killed, and its run fails as a load error', async () => {
    const pool = make({ spares: 0, startTimeoutMs: 1000 });
    const result = pool.run('a');
    const child = env.fakes.children[0]!;
    await env.clock.tickAsync(1000);
    expect(child.kill.calledWith('SIGKILL')).to.equal(true);
    child.exit(null, 'SIGKILL');
    const error = await result.catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TaskLoadError);
    expect((error as Error).message).to.match(/was not ready 1000 ms after it started/);
  });

  describe('deadlineMs: waiting counts', () => {
    it('a run that cannot start before its deadline fails with DeadlineError and never reaches a child', async () => {
      const pool = make({ minChildren: 1, maxChildren: 1, spares: 0, deadlineMs: 2000 });
      const child = env.fakes.children[0]!;
      child.ready();
      const running = pool.run('slow');
      const waiting = pool.run('short');
      await env.clock.tickAsync(1999);
      expect(pool.stats()).to.include({ running: 1, queued: 1 });
      await env.clock.tickAsync(2); // the timer, then the check after that turn's I/O
      expect(await waiting.catch((e: unknown) => e)).to.be.instanceOf(DeadlineError);
      const error = await running.catch((e: unknown) => e);
      expect(error).to.be.instanceOf(TaskTimeoutError);
      expect(error).to.include({ limit: 'deadline', timeoutMs: 2000 });
      expect(child.sent.map((m) => m.task)).to.deep.equal(['slow']);
      expect(pool.stats()).to.include({ expired: 1, timedOut: 1, queued: 0 });
    });

    it('a run started late gets only what is left of its deadline; a tighter timeoutMs wins when it is tighter', async () => {
      const pool = make({ minChildren: 1, maxChildren: 1, spares: 0, deadlineMs: 3000, timeoutMs: 2800 });
      const child = env.fakes.children[0]!;
      child.ready();
      const first = pool.run('first').catch((e: unknown) => e); // caught now: it rejects inside tickAsync
      const second = pool.run('second');
      await env.clock.tickAsync(2801); // the timer, then the check after that turn's I/O
      expect(await first, 'the timeout is tighter').to.include({ limit: 'timeout', timeoutMs: 2800 });
      child.exit(null, 'SIGTERM');
      await env.clock.tickAsync(0);
      env.fakes.children[1]!.ready();
      await env.clock.tickAsync(199);
      expect(pool.stats().running).to.equal(1);
      await env.clock.tickAsync(1);
      expect(await second.catch((e: unknown) => e), 'only 200 ms of its deadline were left').to.include({ limit: 'deadline' });
    });
  });

  it('a child that announces it is leaving before it was ready is a tasks module that cannot load: back-off, not a fork loop', async () => {
    const pool = make({ spares: 1 });
    const result = pool.run('a');
    const first = env.fakes.children[0]!;
    first.say({ type: 'exiting', started: [] });
    first.exit(1);
    expect(await result.catch((e: unknown) => e)).to.be.instanceOf(TaskLoadError);
    await env.clock.tickAsync(150);
    expect(env.fakes.children, 'no restart before the back-off').to.have.length(1);
    await env.clock.tickAsync(100);
    expect(env.fakes.children).to.have.length(2);
  });

  it('a fork() that throws (ENOMEM) fails the run with ChildStartError instead of throwing into the pool', async () => {
    const fork = () => {
      throw Object.assign(new Error('spawn ENOMEM'), { code: 'ENOMEM' });
    };
    const pool = make({ spares: 0 }, { fork });
    const error = await Promise.all([pool.run('a'), env.clock.tickAsync(0)]).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ChildStartError);
    expect(error).to.include({ errno: 'ENOMEM' });
  });

  it('a bad signal rejects like any bad argument', async () => {
    const pool = make({ spares: 0 });
    expect(await pool.run('a', [], { signal: 'stop' as unknown as AbortSignal }).catch((e: unknown) => e)).to.be.instanceOf(TypeError);
    expect(await pool.run('a', [], null as unknown as object).catch((e: unknown) => e)).to.be.instanceOf(TypeError);
  });

  it('many runs sharing one AbortSignal add one listener to it, and all abort together', async () => {
    const pool = make({ maxChildren: 1, spares: 0, maxQueue: 100 });
    const controller = new AbortController();
    const runs = Array.from({ length: 20 }, () => pool.run('a', [], { signal: controller.signal }).catch((e: unknown) => (e as Error).name));
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(1);
    controller.abort();
    expect(await Promise.all(runs)).to.deep.equal(new Array(20).fill('AbortError'));
    expect(pool.stats()).to.include({ aborted: 20, queued: 0, running: 0 });
  });

  it('a run aborted while its child is still starting leaves the child for the next run', async () => {
    const pool = make({ maxChildren: 1, spares: 0 });
    const controller = new AbortController();
    const aborted = pool.run('a', [], { signal: controller.signal });
    controller.abort();
    expect((await aborted.catch((e: unknown) => e) as Error).name).to.equal('AbortError');
    const child = env.fakes.children[0]!;
    expect(child.kill.called).to.equal(false);
    const next = pool.run('b');
    child.ready();
    expect(child.sent.map((m) => m.task)).to.deep.equal(['b']);
    child.answer('B');
    expect(await next).to.equal('B');
  });

  it('children are started through the parent-death launcher when there is one, in a session of their own', () => {
    make({ spares: 1 }, { launcher: { execPath: '/usr/bin/setpriv', args: ['--pdeathsig', 'KILL', '--', '/usr/bin/node'] }, parentExecArgv: ['--import', 'tsx'] });
    const options = env.fakes.fork.lastCall.args[2];
    expect(options.execPath).to.equal('/usr/bin/setpriv');
    expect(options.execArgv).to.deep.equal(['--pdeathsig', 'KILL', '--', '/usr/bin/node', '--import', 'tsx']);
    expect(options.detached).to.equal(true);
  });

  it('parentDeathLauncher: setpriv on Linux when it exists, nothing elsewhere', () => {
    expect(parentDeathLauncher('linux', () => true, '/n', () => true)).to.deep.equal({ execPath: '/usr/bin/setpriv', args: ['--pdeathsig', 'KILL', '--', '/n'] });
    expect(parentDeathLauncher('linux', () => true, '/n', () => false), 'a setpriv without --pdeathsig').to.equal(undefined);
    expect(parentDeathLauncher('linux', () => false)).to.equal(undefined);
    expect(parentDeathLauncher('darwin', () => true)).to.equal(undefined);
  });
});

describe('the spawner option', () => {
  it('defaults to POOL_DEFAULTS.spawner; SLOWLANE_SPAWNER=0 or 1 overrides the default, an explicit option wins', async () => {
    const { resolvePoolOptions } = await import('../../lib/pool/pool-options.js');
    const { POOL_DEFAULTS } = await import('../../lib/defaults.js');
    const saved = process.env['SLOWLANE_SPAWNER'];
    try {
      delete process.env['SLOWLANE_SPAWNER'];
      expect(resolvePoolOptions({ tasks: '/t.js' }).spawner).to.equal(POOL_DEFAULTS.spawner);
      process.env['SLOWLANE_SPAWNER'] = '0';
      expect(resolvePoolOptions({ tasks: '/t.js' }).spawner).to.equal(false);
      expect(resolvePoolOptions({ tasks: '/t.js', spawner: true }).spawner).to.equal(true);
      process.env['SLOWLANE_SPAWNER'] = '1';
      expect(resolvePoolOptions({ tasks: '/t.js' }).spawner).to.equal(true);
      expect(resolvePoolOptions({ tasks: '/t.js', spawner: false }).spawner).to.equal(false);
    } finally {
      if (saved === undefined) delete process.env['SLOWLANE_SPAWNER'];
      else process.env['SLOWLANE_SPAWNER'] = saved;
    }
  });
});
