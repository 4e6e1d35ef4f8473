// prefetch with faked children and a fake clock: when a run sent ahead begins
// (its timeout's start), what a cancel sends, and where runs sent ahead go
// when their child dies or is killed.
import { expect } from 'chai';
import { ChildPool } from '../../lib/pool/child-pool.js';
import { TaskCrashedError, TaskTimeoutError } from '../../lib/pool/errors.js';
import type { ChildPoolOptions } from '../../lib/pool/pool-options.js';
import { flush, useFakeProcessesAndClock } from '../support/fake-child.js';

describe('prefetch (faked fork)', () => {
  const env = useFakeProcessesAndClock();
  const make = (options: Partial<ChildPoolOptions> = {}) => new ChildPool({ tasks: '/tasks.js', minChildren: 1, maxChildren: 1, spares: 0, prefetch: 3, ...options }, env.fakes.deps);
  const outcome = (promise: Promise<unknown>): Promise<{ value?: unknown; error?: unknown }> => promise.then((value) => ({ value }), (error: unknown) => ({ error }));

  it('sends up to prefetch runs to a busy child, in order; the rest wait in the queue', async () => {
    const pool = make();
    const child = env.fakes.children[0]!;
    child.ready();
    const runs = [1, 2, 3, 4].map((i) => pool.run('echo', [i]));
    expect(child.sent.map((run) => run.args[0])).to.deep.equal([1, 2, 3]);
    expect(pool.stats()).to.include({ running: 3, queued: 1 });
    child.answer(1, child.sent[0]!.id);
    await flush();
    expect(child.sent.map((run) => run.args[0]), 'the queued one follows the answer').to.deep.equal([1, 2, 3, 4]);
    for (const run of child.sent.slice(1)) child.answer(run.args[0], run.id);
    expect(await Promise.all(runs)).to.deep.equal([1, 2, 3, 4]);
  });

  it('a run sent ahead is timed from the answer of the run before it, not from when it was sent', async () => {
    const pool = make({ timeoutMs: 100 });
    const child = env.fakes.children[0]!;
    child.ready();
    const first = pool.run('echo', [1]);
    const second = outcome(pool.run('echo', [2]));
    await env.clock.tickAsync(90);
    child.answer(1, child.sent[0]!.id);
    expect(await first).to.equal(1);
    await env.clock.tickAsync(90);
    expect(child.kill.called, '90 ms into its own run').to.equal(false);
    await env.clock.tickAsync(12);
    expect((await second).error).to.be.instanceOf(TaskTimeoutError);
    expect(child.kill.called).to.equal(true);
  });

  it('a run sent ahead that is aborted: a drop to its child, never a kill; the child\'s skip frees it for the next', async () => {
    const pool = make({ prefetch: 2 });
    const child = env.fakes.children[0]!;
    child.ready();
    const controller = new AbortController();
    const first = pool.run('echo', [1]);
    const second = outcome(pool.run('echo', [2], { signal: controller.signal }));
    const third = pool.run('echo', [3]);
    controller.abort(new Error('gone'));
    expect(((await second).error as Error).message).to.equal('gone');
    expect(child.control).to.deep.equal([{ type: 'drop', id: child.sent[1]!.id }]);
    expect(child.kill.called).to.equal(false);
    child.answer(1, child.sent[0]!.id);
    await flush();
    expect(child.sent, 'full until the skip comes').to.have.lengthOf(2);
    child.fail({ name: 'DroppedError', message: 'cancelled before it began' }, child.sent[1]!.id);
    await flush();
    child.answer(3, child.sent[2]!.id);
    expect([await first, await third]).to.deep.equal([1, 3]);
    expect(pool.stats()).to.include({ completed: 2, aborted: 1, failed: 0 });
  });

  it('a dropped run its child began anyway is killed unless it answers within the kill grace', async () => {
    const pool = make({ prefetch: 2, killGraceMs: 500 });
    const child = env.fakes.children[0]!;
    child.ready();
    const controller = new AbortController();
    void pool.run('echo', [1]);
    void outcome(pool.run('spin', [], { signal: controller.signal }));
    controller.abort(new Error('gone'));
    child.answer(1, child.sent[0]!.id);
    await env.clock.tickAsync(499);
    expect(child.kill.called).to.equal(false);
    await env.clock.tickAsync(2);
    expect(child.kill.calledWith('SIGKILL')).to.equal(true);
  });

  it('its child dies: the run it began fails as a crash; the runs sent ahead go to the next child, in order, and run once', async () => {
    const pool = make();
    const first = env.fakes.children[0]!;
    first.ready();
    const runs = [1, 2, 3].map((i) => outcome(pool.run('echo', [i])));
    first.exit(1);
    await flush();
    expect((await runs[0]!).error).to.be.instanceOf(TaskCrashedError);
    await env.clock.tickAsync(10);
    const next = env.fakes.children[1]!;
    next.ready();
    await flush();
    expect(next.sent.map((run) => run.args[0])).to.deep.equal([2, 3]);
    for (const run of next.sent) next.answer(run.args[0], run.id);
    expect([(await runs[1]!).value, (await runs[2]!).value]).to.deep.equal([2, 3]);
    expect(pool.stats()).to.include({ crashed: 1, completed: 2 });
  });

  it('killed on a timeout: an answer that still comes for the run after it resolves that run; the one it began then crashes, the rest go on', async () => {
    const pool = make({ timeoutMs: 100 });
    const first = env.fakes.children[0]!;
    first.ready();
    const runs = [1, 2, 3].map((i) => outcome(pool.run('echo', [i])));
    await env.clock.tickAsync(102);
    expect((await runs[0]!).error).to.be.instanceOf(TaskTimeoutError);
    // It answered the first as the kill came, then the second, then died running the third.
    first.answer(1, first.sent[0]!.id);
    first.answer(2, first.sent[1]!.id);
    first.exit(null, 'SIGTERM');
    await flush();
    expect((await runs[1]!).value).to.equal(2);
    expect((await runs[2]!).error).to.be.instanceOf(TaskCrashedError);
  });

  it('a stream run is sent only to a free child, and nothing is sent ahead of one', async () => {
    const pool = make();
    const child = env.fakes.children[0]!;
    child.ready();
    const stream = pool.stream('rows', []);
    void stream[Symbol.asyncIterator]().next();
    const plain = pool.run('echo', [1]);
    expect(child.sent, 'the plain run waits behind the stream').to.have.lengthOf(1);
    expect(pool.stats()).to.include({ running: 1, queued: 1 });
    child.answer(undefined, child.sent[0]!.id);
    await flush();
    child.answer(1, child.sent[1]!.id);
    expect(await plain).to.equal(1);
  });
});
