// The monsters, met by real child processes.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { getPriority } from 'node:os';
import { fork as nodeFork } from 'node:child_process';
import { ChildPool, type PoolDeps } from '../../lib/pool/child-pool.js';
import type { ForkFn } from '../../lib/pool/launch/fork.js';
import { PoolClosedError, QueueFullError, TaskCrashedError, TaskError, TaskLoadError, TaskTimeoutError, UnknownTaskError } from '../../lib/pool/errors.js';
import type { ChildPoolOptions } from '../../lib/pool/pool-options.js';
import { eventually, isAlive, slowlaneChildren } from '../../tools/proc.js';

const TASKS = new URL('../fixtures/tasks.js', import.meta.url);
const BROKEN = new URL('../fixtures/broken-tasks.js', import.meta.url);

type Make = (options?: Partial<ChildPoolOptions> & { size?: number }, deps?: Partial<PoolDeps>) => ChildPool;

// V8 prints a page of GC history when a child runs out of memory on purpose; keep it out of the test log.
const quietFork: ForkFn = (modulePath, args, options) => nodeFork(modulePath, [...args], { ...options, stdio: ['ignore', 'inherit', 'ignore', 'ipc'] });

// The two shapes the demo server uses: warm children, and a fresh process per task.
const kinds: [string, Make][] = [
  ['ChildPool of warm children', ({ size = 2, ...options } = {}, deps = {}) => new ChildPool({ tasks: TASKS, minChildren: size, maxChildren: size, spares: 0, ...options }, deps)],
  ['ChildPool with a process per task', ({ size: _size, ...options } = {}, deps = {}) => new ChildPool({ tasks: TASKS, tasksPerChild: 1, maxChildren: 2, ...options }, deps)],
];

for (const [kind, make] of kinds) {
  describe(`${kind}, real children`, function () {
    let pool: ChildPool;
    afterEach(() => pool?.destroy());

    it('1. a task that throws rejects with TaskError (name, message, stack, code) and the next task works', async () => {
      pool = make();
      const error = await pool.run('fail', ['no good']).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(TaskError);
      expect(error).to.include({ name: 'RangeError', message: 'no good', code: 'E_FIXTURE' });
      expect((error as TaskError)['detail']).to.deep.equal({ why: 'asked to' });
      expect((error as Error).stack).to.match(/RangeError: no good\n\s+at fail .*fixtures\/tasks\.js/);
      expect(await pool.run('failLater').catch((e: unknown) => (e as Error).message)).to.equal('rejected later');
      expect(await pool.run('add', [2, 3])).to.equal(5);
    });

    it('2. a child that exits, is killed or runs out of memory rejects with TaskCrashedError; service goes on', async () => {
      pool = make({ execArgv: ['--max-old-space-size=32'] }, { fork: quietFork });
      const exited = await pool.run('exit', [7]).catch((e: unknown) => e);
      expect(exited).to.be.instanceOf(TaskCrashedError);
      expect(exited).to.include({ exitCode: 7, signal: null });
      const killed = await pool.run('killSelf', ['SIGKILL']).catch((e: unknown) => e);
      expect(killed).to.include({ signal: 'SIGKILL' });
      const oom = await pool.run('allocateForever').catch((e: unknown) => e);
      expect(oom).to.be.instanceOf(TaskCrashedError);
      expect(await pool.run('add', [1, 1])).to.equal(2);
      expect(pool.stats()).to.include({ crashed: 3, completed: 1 });
    });

    it('3. a tasks module that cannot load: a clear error naming it, and no restart storm', async () => {
      pool = make({ tasks: BROKEN });
      const error = await pool.run('anything').catch((e: unknown) => e);
      expect(error).to.be.instanceOf(TaskLoadError);
      expect((error as Error).message).to.equal(`cannot load tasks module ${BROKEN.href}: Error: this module is broken on purpose`);
      const seen = new Set<number>();
      const until = Date.now() + 1500;
      while (Date.now() < until) {
        for (const child of slowlaneChildren({ parent: process.pid })) seen.add(child.pid);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(seen.size, 'children started in 1.5 s').to.be.at.most(8);
    });

    it('4. a task that runs too long is killed at its timeout: TaskTimeoutError, and its pid is gone', async () => {
      pool = make({ timeoutMs: 300, killGraceMs: 200 });
      // Ready children have exec'd node: before that, /proc shows them as a copy of this process.
      await pool.ready();
      const before = new Set(slowlaneChildren({ parent: process.pid }).map((c) => c.pid));
      const error = await pool.run('spinForever').catch((e: unknown) => e);
      expect(error).to.be.instanceOf(TaskTimeoutError);
      const spun = slowlaneChildren({ parent: process.pid }).filter((c) => !before.has(c.pid)).map((c) => c.pid);
      const all = [...before, ...spun];
      expect(await eventually(() => all.filter(isAlive).length < all.length, 1500), 'the spinning child died').to.equal(true);
      expect(await pool.run('add', [1, 2])).to.equal(3);
      expect(pool.stats().timedOut).to.equal(1);
    });

    it('5. an aborted run kills its child within a second; an aborted waiting run never starts', async () => {
      pool = make({ maxChildren: 1, size: 1 });
      await pool.run('add', [0, 0]);
      // A ready child takes the task at once; a run aborted while its child still starts leaves that child be.
      await pool.ready();
      const controller = new AbortController();
      const running = pool.run<number>('sleep', [60_000], { signal: controller.signal });
      const waiting = new AbortController();
      const queued = pool.run('echo', ['never'], { signal: waiting.signal });
      await eventually(() => pool.stats().running === 1, 2000);
      const busy = slowlaneChildren({ parent: process.pid }).map((c) => c.pid);
      waiting.abort();
      controller.abort();
      expect((await running.catch((e: unknown) => e) as Error).name).to.equal('AbortError');
      expect((await queued.catch((e: unknown) => e) as Error).name).to.equal('AbortError');
      expect(await eventually(() => busy.some((pid) => !isAlive(pid)), 1000), 'a child died within a second').to.equal(true);
      expect(pool.stats()).to.include({ aborted: 2, running: 0, queued: 0 });
    });

    it('6. never more children than allowed; beyond maxQueue the run gets QueueFullError', async () => {
      pool = make({ maxQueue: 3, size: 2, maxChildren: 2 });
      let most = 0;
      const sampler = setInterval(() => (most = Math.max(most, slowlaneChildren({ parent: process.pid }).length)), 10);
      let results: PromiseSettledResult<unknown>[];
      try {
        results = await Promise.allSettled(Array.from({ length: 12 }, () => pool.run('sleep', [200])));
      } finally {
        clearInterval(sampler); // never left reading /proc after a timed-out test
      }
      const rejected = results.filter((r) => r.status === 'rejected');
      expect(rejected.length).to.equal(7);
      for (const r of rejected) expect((r as PromiseRejectedResult).reason).to.be.instanceOf(QueueFullError);
      expect(most, 'children alive at once').to.be.at.most(2);
    });

    it('9. results of every size and advanced type arrive whole, each to its own run', async () => {
      pool = make();
      const value = {
        big: 2n ** 200n,
        map: new Map<string, unknown>([['a', 1], ['b', new Set([1, 2])]]),
        date: new Date(1234567890),
        buffer: Buffer.from('héllo'),
        floats: new Float64Array([1.5, -2.25]),
        bytes: new Uint8Array([1, 2, 3]),
      };
      const echoed = await pool.run<typeof value>('echo', [value]);
      expect(echoed.big).to.equal(value.big);
      expect(echoed.map).to.deep.equal(value.map);
      expect(echoed.date.getTime()).to.equal(value.date.getTime());
      expect(Buffer.from(echoed.buffer).toString()).to.equal('héllo');
      expect([...echoed.floats]).to.deep.equal([1.5, -2.25]);
      expect(echoed.floats).to.be.instanceOf(Float64Array);
      const big = await pool.run<Uint8Array>('bigBuffer', [8 * 1024 * 1024 + 7]);
      expect(big.length).to.equal(8 * 1024 * 1024 + 7);
      expect(big[8 * 1024 * 1024 + 6]).to.equal((8 * 1024 * 1024 + 6) % 251);
      const many = await Promise.all(Array.from({ length: 20 }, (_, i) => pool.run('echo', [`answer ${i}`])));
      expect(many).to.deep.equal(Array.from({ length: 20 }, (_, i) => `answer ${i}`));
      const unsendable = await pool.run('unsendable').catch((e: unknown) => e);
      expect(unsendable).to.be.instanceOf(TaskError);
      // V8's own message quotes the value (a function's source); ours names only what was sent.
      expect((unsendable as Error).message).to.match(/the task's answer cannot be copied to another process/);
      expect((unsendable as Error).message).to.not.include('=>');
      const noSuchTask = await pool.run('constructor').catch((e: unknown) => e);
      expect((noSuchTask as Error).name).to.equal('UnknownTaskError');
    });

    it('10. children run at the niceness asked for (default 19)', async () => {
      pool = make();
      const pid = await pool.run<number>('whoAmI');
      expect(getPriority(pid)).to.equal(19);
    });

    it('destroy() ends every child now and rejects pending runs', async () => {
      pool = make();
      await pool.ready();
      const pending = pool.run('sleep', [60_000]).catch((e: unknown) => e);
      await eventually(() => pool.stats().running === 1, 2000);
      const pids = slowlaneChildren({ parent: process.pid }).map((c) => c.pid);
      expect(pids.length).to.be.at.least(1);
      await pool.destroy();
      expect(await pending).to.be.instanceOf(PoolClosedError);
      for (const pid of pids) expect(() => process.kill(pid, 0), `pid ${pid}`).to.throw();
      expect(await pool.run('add').catch((e: unknown) => e)).to.be.instanceOf(PoolClosedError);
    });

    it('close() finishes the tasks it has, then no child is left', async () => {
      pool = make({ maxChildren: 1, size: 1 });
      const results = [pool.run('sleep', [100]), pool.run('add', [4, 4])];
      await pool.close();
      expect((await Promise.all(results))[1]).to.equal(8);
      expect(slowlaneChildren({ parent: process.pid })).to.deep.equal([]);
    });
  });
}

describe('7. orphans', () => {
  it('children of a parent killed with SIGKILL exit within a second', async function () {
    const script = `
      const { ChildPool } = await import(${JSON.stringify(new URL('../../lib/pool/child-pool.js', import.meta.url).href)});
      const pool = new ChildPool({ tasks: ${JSON.stringify(TASKS.href)}, minChildren: 2, maxChildren: 2, spares: 0 });
      const fork = new ChildPool({ tasks: ${JSON.stringify(TASKS.href)}, tasksPerChild: 1, spares: 1 });
      await pool.run('add', [1, 1]);
      console.log('ready');
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => parent.stdout.once('data', resolve));
    // Children inherit this pipe; let go of it so a surviving orphan fails the test instead of hanging it.
    parent.stdout.destroy();
    await eventually(() => slowlaneChildren({ parent: parent.pid! }).length === 3, 3000);
    const orphans = slowlaneChildren({ parent: parent.pid! }).map((c) => c.pid);
    expect(orphans).to.have.length(3);
    parent.kill('SIGKILL');
    const gone = await eventually(() => orphans.every((pid) => !isAlive(pid)), 1000);
    expect(orphans.filter(isAlive), 'children still alive a second after their parent was killed').to.deep.equal([]);
    expect(gone).to.equal(true);
  });
});

describe('a misspelt task name, real children', () => {
  it('ready() rejects with UnknownTaskError listing what the module exports; the client-facing line has neither', async () => {
    const pool = new ChildPool({ tasks: TASKS, minChildren: 1, maxChildren: 1, spares: 0 });
    try {
      pool.expectTask('ad');
      const error = await pool.ready().catch((e: unknown) => e);
      expect(error).to.be.instanceOf(UnknownTaskError);
      expect((error as Error).message).to.match(/^"ad" is not a task of file:.*tasks\.js; it exports: .*\badd\b/);
      expect(await pool.run('add', [1, 2])).to.equal(3);
    } finally {
      await pool.destroy();
    }
  });
});
