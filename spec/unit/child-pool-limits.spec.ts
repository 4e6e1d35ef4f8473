// ChildPool's production limits on faked children and a fake clock: the
// memory cap, recycling (tasks with jitter, age, size), idle shrink and the
// spawn budget.
import { expect } from 'chai';
import { ChildPool } from '../../lib/pool/child-pool.js';
import { TaskMemoryError } from '../../lib/pool/errors.js';
import type { ChildPoolOptions } from '../../lib/pool/pool-options.js';
import { ageLimit, taskLimit } from '../../lib/pool/schedule/policy/retirement.js';
import { SpawnBudget } from '../../lib/pool/schedule/policy/spawn-budget.js';
import { flush, useFakeProcessesAndClock, type FakeChild } from '../support/fake-child.js';

describe('ChildPool limits (faked fork, fake clock)', () => {
  const env = useFakeProcessesAndClock();
  let rss: Map<number, number>;
  beforeEach(() => (rss = new Map()));
  const make = (options: Partial<ChildPoolOptions> = {}, random = () => 0) =>
    new ChildPool({ tasks: '/tasks.js', ...options }, { ...env.fakes.deps, readRssMb: (pid) => rss.get(pid), readTreeRssMb: (pid) => rss.get(pid), random });
  const readyAll = () => env.fakes.children.forEach((child) => child.ready());
  const alive = () => env.fakes.children.filter((child) => child.connected);

  describe('tasksPerChild jitter', () => {
    it('adds up to 10 % of the limit, drawn per child; none below 10 tasks', () => {
      expect(taskLimit(100, () => 0)).to.equal(100);
      expect(taskLimit(100, () => 0.999)).to.equal(110);
      expect(taskLimit(100, () => 0.5)).to.equal(105);
      expect(taskLimit(9, () => 0.999)).to.equal(9);
      expect(taskLimit(1, () => 0.999)).to.equal(1);
      expect(taskLimit(Infinity, () => 0.5)).to.equal(Infinity);
      expect(ageLimit(60_000, () => 0.5), 'ages too').to.equal(63_000);
      expect(ageLimit(Infinity, () => 0.5)).to.equal(Infinity);
    });

    it('each child is started with its own limit', () => {
      const draws = [0, 0.999, 0.5];
      make({ tasksPerChild: 100, minChildren: 3, maxChildren: 3, spares: 0 }, () => draws.shift()!);
      expect(env.fakes.children.map((child) => child.mode)).to.deep.equal(['100', '110', '105']);
    });

    it('a child that served its limit is replaced once it has left: never more than maxChildren processes', async () => {
      const pool = make({ tasksPerChild: 2, minChildren: 1, maxChildren: 1, spares: 0 });
      readyAll();
      const first = env.fakes.children[0]!;
      for (const value of [1, 2]) {
        const result = pool.run('a');
        first.answer(value);
        expect(await result).to.equal(value);
      }
      await env.clock.tickAsync(0);
      expect(env.fakes.children, 'no replacement while the old child is still there').to.have.length(1);
      expect(pool.stats()).to.include({ recycled: 1, children: 1, started: 1 });
      first.exit(0);
      await env.clock.tickAsync(0);
      expect(env.fakes.children, 'the replacement, once it has gone').to.have.length(2);
      expect(pool.stats()).to.include({ recycled: 1, children: 1, started: 2 });
    });
  });

  describe('maxMemoryMb', () => {
    it('kills a busy child whose RSS passes the cap within a sample, rejects with TaskMemoryError, replaces the child', async () => {
      const pool = make({ maxMemoryMb: 100, minChildren: 1, maxChildren: 1, spares: 0 });
      readyAll();
      const child = env.fakes.children[0]!;
      const result = pool.run('grow').catch((e: unknown) => e); // caught now: it rejects inside tickAsync
      rss.set(child.pid, 90);
      await env.clock.tickAsync(100);
      expect(child.kill.called, 'under the cap').to.equal(false);
      rss.set(child.pid, 130);
      await env.clock.tickAsync(100);
      expect(child.kill.calledOnceWith('SIGKILL')).to.equal(true);
      const error = (await result) as TaskMemoryError;
      expect(error).to.be.instanceOf(TaskMemoryError);
      expect(error).to.include({ code: 'ERR_TASK_MEMORY', maxMemoryMb: 100, rssMb: 130, task: 'grow' });
      expect(error.message).to.equal('task "grow" ran out of its memory allowance: its child process reached 130 MiB (the cap is 100 MiB) and was killed');
      child.exit(null, 'SIGKILL');
      await env.clock.tickAsync(0);
      expect(env.fakes.children, 'replaced').to.have.length(2);
      expect(pool.stats()).to.include({ memoryKilled: 1, failed: 1, crashed: 0 });
    });

    it('reads memory only while tasks run', async () => {
      let reads = 0;
      const pool = new ChildPool({ tasks: '/tasks.js', maxMemoryMb: 100, minChildren: 1, maxChildren: 1, spares: 0 }, { ...env.fakes.deps, readTreeRssMb: () => (reads += 1, 10) });
      readyAll();
      await env.clock.tickAsync(1000);
      expect(reads, 'idle').to.equal(0);
      const result = pool.run('a');
      await env.clock.tickAsync(350);
      expect(reads).to.equal(3);
      env.fakes.children[0]!.answer(1);
      await result;
      await env.clock.tickAsync(1000);
      expect(reads, 'one more tick finds nothing running and stops').to.equal(3);
    });
  });

  describe('recycleMemoryMb and maxChildAgeMs', () => {
    it('a child past recycleMemoryMb after its answer is stopped gracefully and replaced', async () => {
      const pool = make({ recycleMemoryMb: 200, minChildren: 1, maxChildren: 1, spares: 0 });
      readyAll();
      const child = env.fakes.children[0]!;
      rss.set(child.pid, 250);
      const result = pool.run('a');
      child.answer('ok');
      expect(await result, 'its answer is delivered').to.equal('ok');
      await env.clock.tickAsync(0); // stopped in the turn after its answer
      expect(child.stops).to.equal(1);
      child.exit(0);
      await env.clock.tickAsync(0);
      expect(env.fakes.children).to.have.length(2);
      expect(pool.stats()).to.include({ recycled: 1 });
    });

    it('an idle child past maxChildAgeMs is replaced at that moment; a busy one after its answer', async () => {
      const pool = make({ maxChildAgeMs: 10_000, minChildren: 2, maxChildren: 2, spares: 0 });
      readyAll();
      const [idle, busy] = env.fakes.children as [FakeChild, FakeChild];
      const result = pool.run('a');
      expect(busy.sent.length + idle.sent.length).to.equal(1);
      const [worker, other] = idle.sent.length === 1 ? [idle, busy] : [busy, idle];
      await env.clock.tickAsync(9_999);
      expect(other.stops).to.equal(0);
      await env.clock.tickAsync(1);
      expect(other.stops, 'the idle one, at 10 s').to.equal(1);
      expect(worker.stops, 'the busy one keeps its task').to.equal(0);
      other.exit(0);
      // (sinon runs an immediate queued by a timer only once the clock moves on)
      await env.clock.tickAsync(1);
      expect(env.fakes.children, 'its replacement is starting').to.have.length(3);
      worker.answer('done');
      expect(await result).to.equal('done');
      await env.clock.tickAsync(0);
      expect(worker.stops, 'then the busy one, in the turn after its answer').to.equal(1);
      worker.exit(0);
      await env.clock.tickAsync(0);
      expect(env.fakes.children).to.have.length(4);
      expect(pool.stats()).to.include({ recycled: 2 });
    });
  });

  describe('idleTimeoutMs', () => {
    it('children above minChildren idle that long leave, longest idle first; minChildren stay', async () => {
      const pool = make({ idleTimeoutMs: 5000, minChildren: 1, maxChildren: 3, spares: 0 });
      readyAll();
      const runs = [pool.run('a'), pool.run('b'), pool.run('c')];
      readyAll();
      const [a, b, c] = env.fakes.children as [FakeChild, FakeChild, FakeChild];
      a.answer(1);
      await env.clock.tickAsync(1000);
      b.answer(2);
      c.answer(3);
      await Promise.all(runs);
      await env.clock.tickAsync(3999);
      expect(a.stops + b.stops + c.stops).to.equal(0);
      await env.clock.tickAsync(1);
      expect(a.stops, 'idle 5 s first').to.equal(1);
      await env.clock.tickAsync(1000);
      expect(b.stops + c.stops, 'one more leaves; one stays for minChildren').to.equal(1);
      await env.clock.tickAsync(60_000);
      expect(b.stops + c.stops).to.equal(1);
      expect(pool.stats()).to.include({ shrunk: 2, started: 3 });
    });

    it('does not shrink under steady load: a child that gets a task before its timeout stays', async () => {
      const pool = make({ idleTimeoutMs: 1000, minChildren: 0, maxChildren: 2, spares: 0 });
      const first = [pool.run('a'), pool.run('b')];
      readyAll();
      for (const child of env.fakes.children) child.answer('x');
      await Promise.all(first);
      for (let i = 0; i < 20; i += 1) {
        await env.clock.tickAsync(900);
        const pair = [pool.run('a'), pool.run('b')];
        for (const child of env.fakes.children) child.answer('y');
        await Promise.all(pair);
      }
      expect(pool.stats()).to.include({ shrunk: 0, started: 2, children: 2 });
    });

    it('keeps the spares the arrival rate calls for', async () => {
      const pool = make({ idleTimeoutMs: 1000, maxChildren: 2, spares: 1, tasksPerChild: Infinity });
      readyAll();
      await env.clock.tickAsync(10_000);
      expect(pool.stats()).to.include({ shrunk: 0, children: 1, idle: 1 });
    });
  });

  describe('maxStartsPerSecond', () => {
    it('the budget gives a second\'s worth at once, then one start per 1/rate', () => {
      const budget = new SpawnBudget(4, 0);
      expect([1, 2, 3, 4, 5].map(() => budget.take(0))).to.deep.equal([true, true, true, true, false]);
      expect(budget.waitMs(0)).to.equal(250);
      expect(budget.take(249)).to.equal(false);
      expect(budget.take(250)).to.equal(true);
      const slow = new SpawnBudget(0.5, 0);
      expect([slow.take(0), slow.take(0), slow.take(1999), slow.take(2000)], 'below one a second: one start, then one per 2 s').to.deep.equal([true, false, false, true]);
      expect(new SpawnBudget(Infinity, 0).take(0)).to.equal(true);
    });

    it('tasks that need a start beyond the budget wait in the queue, then start as tokens come back', async () => {
      const pool = make({ maxStartsPerSecond: 2, tasksPerChild: 1, maxChildren: 8, spares: 0 });
      const results = Array.from({ length: 6 }, (_, i) => pool.run('a', [i]));
      expect(env.fakes.children, 'two starts at once').to.have.length(2);
      expect(pool.stats(), 'all six wait: two for the children starting').to.include({ queued: 6, startsDeferred: 1 });
      await env.clock.tickAsync(499);
      expect(env.fakes.children).to.have.length(2);
      await env.clock.tickAsync(1);
      expect(env.fakes.children, 'one more at 0.5 s').to.have.length(3);
      await env.clock.tickAsync(1500);
      expect(env.fakes.children, 'six in 2 s').to.have.length(6);
      for (const child of env.fakes.children) {
        child.ready();
        child.answer(child.sent[0]!.args[0]);
      }
      expect(await Promise.all(results)).to.deep.equal([0, 1, 2, 3, 4, 5]);
      await flush();
    });

    it('close() still starts the children its queued tasks wait for, then resolves', async () => {
      const pool = make({ maxStartsPerSecond: 1, tasksPerChild: 1, maxChildren: 4, spares: 0 });
      const results = [pool.run('a', [1]), pool.run('a', [2])];
      let closed = false;
      const closing = pool.close().then(() => (closed = true));
      expect(env.fakes.children).to.have.length(1);
      await env.clock.tickAsync(1000);
      expect(env.fakes.children, 'the second start, a second later, though closing').to.have.length(2);
      for (const child of env.fakes.children) {
        child.ready();
        child.answer(child.sent[0]!.args[0]);
        child.exit(0);
      }
      expect(await Promise.all(results)).to.deep.equal([1, 2]);
      await closing;
      expect(closed).to.equal(true);
      expect(pool.stats()).to.include({ startsDeferred: 1 });
    });

    it('a reset storm (runs aborted soon after they start) forks at most the budget', async () => {
      const pool = make({ maxStartsPerSecond: 5, tasksPerChild: 1, maxChildren: 8, spares: 1 });
      for (let t = 0; t < 3000; t += 10) {
        const controller = new AbortController();
        void pool.run('slow', [], { signal: controller.signal }).catch(() => undefined);
        readyAll();
        await env.clock.tickAsync(5);
        controller.abort();
        for (const child of alive()) if (child.kill.called) child.exit(null, 'SIGTERM');
        await env.clock.tickAsync(5);
      }
      // 5 at once, then 5 a second for 3 s.
      expect(env.fakes.fork.callCount).to.be.at.most(5 + 15 + 1);
      expect(pool.stats().startsDeferred).to.be.above(0);
    });
  });
});
