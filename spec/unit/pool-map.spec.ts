// pool.map() on fake children: results in input order, never more runs at
// once than its concurrency, progress after each answer, and a clean stop on
// abort or on the first failure.
import { expect } from 'chai';
import { ChildPool } from '../../lib/pool/child-pool.js';
import { TaskError } from '../../lib/pool/errors.js';
import type { MapProgress } from '../../lib/pool/pool-map.js';
import type { ChildPoolOptions } from '../../lib/pool/pool-options.js';
import type { RunMessage } from '../../lib/pool/wire/protocol.js';
import { flush, useFakeProcessesAndClock, type FakeChild } from '../support/fake-child.js';

describe('ChildPool.map (faked fork)', () => {
  const env = useFakeProcessesAndClock();
  const answered = new Set<number>();
  beforeEach(() => answered.clear());

  /** A pool whose `size` children are all ready. */
  const readyPool = async (size: number, options: Partial<ChildPoolOptions> = {}): Promise<ChildPool> => {
    const pool = new ChildPool({ tasks: '/tasks.js', minChildren: size, maxChildren: size, spares: 0, ...options }, env.fakes.deps);
    for (const child of env.fakes.children) child.ready();
    await pool.ready();
    return pool;
  };
  /** Runs the children were sent and have not answered, oldest first. */
  const outstanding = (): { child: FakeChild; run: RunMessage }[] =>
    env.fakes.children.flatMap((child) => child.sent.map((run) => ({ child, run }))).filter(({ run }) => !answered.has(run.id)).sort((a, b) => a.run.id - b.run.id);
  /** Answers a run with ten times its first argument. */
  const answer = ({ child, run }: { child: FakeChild; run: RunMessage }): void => {
    answered.add(run.id);
    child.answer((run.args[0] as number) * 10, run.id);
  };
  const sentArgs = (): unknown[] => env.fakes.children.flatMap((child) => child.sent).sort((a, b) => a.id - b.id).map((run) => run.args[0]);

  it('resolves with the results in input order, answered in reverse, never more than `concurrency` at once, with progress after each answer', async () => {
    const pool = await readyPool(3);
    const progress: MapProgress[] = [];
    const mapping = pool.map('times10', [[1], [2], [3], [4], [5]], { concurrency: 2, onProgress: (p) => progress.push({ ...p }) });
    const inFlight: number[] = [];
    for (let step = 0; step < 10 && outstanding().length > 0; step += 1) {
      await flush();
      inFlight.push(outstanding().length);
      answer(outstanding().at(-1)!); // the newest first
      await flush();
    }
    expect(await mapping).to.deep.equal([10, 20, 30, 40, 50]);
    expect(inFlight, 'runs out at each step').to.deep.equal([2, 2, 2, 2, 1]);
    expect(sentArgs(), 'each item run once').to.have.members([1, 2, 3, 4, 5]);
    expect(progress).to.deep.equal([1, 2, 3, 4, 5].map((done) => ({ done, total: 5 })));
    expect(pool.stats()).to.include({ completed: 5, queued: 0, running: 0 });
  });

  it('runs maxChildren at a time by default, none of them waiting in the pool\'s queue', async () => {
    const pool = await readyPool(3);
    const mapping = pool.map('times10', Array.from({ length: 10 }, (_, i) => [i]));
    await flush();
    expect(pool.stats()).to.include({ running: 3, queued: 0 });
    for (let step = 0; step < 20 && outstanding().length > 0; step += 1) {
      expect(pool.stats().running + pool.stats().queued, 'runs given to the pool at once').to.be.at.most(3);
      answer(outstanding()[0]!);
      await flush();
    }
    expect(await mapping).to.deep.equal(Array.from({ length: 10 }, (_, i) => i * 10));
  });

  it('reads a generator of items only as runs start; the total is known once it has run out', async () => {
    const pool = await readyPool(2);
    let pulled = 0;
    function* items(): Generator<[number]> {
      for (let i = 1; i <= 4; i += 1) {
        pulled += 1;
        yield [i];
      }
    }
    const progress: MapProgress[] = [];
    const mapping = pool.map('times10', items(), { onProgress: (p) => progress.push({ ...p }) });
    await flush();
    expect(pulled, 'items read before any answer').to.equal(2);
    for (let step = 0; step < 10 && outstanding().length > 0; step += 1) {
      answer(outstanding()[0]!);
      await flush();
    }
    expect(await mapping).to.deep.equal([10, 20, 30, 40]);
    // The generator's end was read after the third answer, to start a fourth run: only then is the total known.
    expect(progress).to.deep.equal([{ done: 1, total: undefined }, { done: 2, total: undefined }, { done: 3, total: undefined }, { done: 4, total: 4 }]);
  });

  it('abort: no run starts after it, the running ones are aborted (their children killed), it rejects with the reason, and a generator of items is closed', async () => {
    const pool = await readyPool(2);
    let closed = false;
    function* items(): Generator<[number]> {
      try {
        for (let i = 1; i <= 100; i += 1) yield [i];
      } finally {
        closed = true;
      }
    }
    const controller = new AbortController();
    const progress: MapProgress[] = [];
    const mapping = pool.map('times10', items(), { signal: controller.signal, onProgress: (p) => progress.push({ ...p }) });
    await flush();
    answer(outstanding()[0]!);
    await flush();
    expect(sentArgs()).to.deep.equal([1, 2, 3]);
    const reason = new Error('stopped by the user');
    controller.abort(reason);
    expect(await mapping.catch((e: unknown) => e)).to.equal(reason);
    await flush();
    expect(sentArgs(), 'no run started after the abort').to.deep.equal([1, 2, 3]);
    expect(pool.stats()).to.include({ completed: 1, aborted: 2, running: 0, queued: 0 });
    expect(env.fakes.children.filter((child) => child.kill.calledWith('SIGTERM')), 'the children running items 2 and 3').to.have.length(2);
    expect(closed, 'the generator of items was closed').to.equal(true);
    expect(progress).to.deep.equal([{ done: 1, total: undefined }]);
  });

  it('an already aborted signal rejects with its reason and runs nothing', async () => {
    const pool = await readyPool(1);
    const reason = new Error('too late');
    expect(await pool.map('times10', [[1]], { signal: AbortSignal.abort(reason) }).catch((e: unknown) => e)).to.equal(reason);
    expect(sentArgs()).to.deep.equal([]);
  });

  it('the first failure stops it: the other running run is aborted, nothing more starts, it rejects with that failure', async () => {
    const pool = await readyPool(2);
    const mapping = pool.map('times10', [[1], [2], [3], [4]]);
    await flush();
    const [first] = outstanding();
    answered.add(first!.run.id);
    first!.child.fail({ name: 'RangeError', message: 'item 1 is bad' }, first!.run.id);
    const error = await mapping.catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TaskError);
    expect((error as Error).message).to.match(/item 1 is bad/);
    await flush();
    expect(sentArgs()).to.deep.equal([1, 2]);
    expect(pool.stats()).to.include({ failed: 1, aborted: 1, running: 0, queued: 0 });
  });

  it('an onProgress that throws stops it as a failure does', async () => {
    const pool = await readyPool(1);
    const broken = new Error('progress bar broke');
    const mapping = pool.map('times10', [[1], [2]], { onProgress: () => { throw broken; } });
    await flush();
    answer(outstanding()[0]!);
    expect(await mapping.catch((e: unknown) => e)).to.equal(broken);
    expect(sentArgs()).to.deep.equal([1]);
  });

  it('no items: resolves with [] at once', async () => {
    const pool = await readyPool(1);
    expect(await pool.map('times10', [])).to.deep.equal([]);
  });

  it('bad options reject with one line each', async () => {
    const pool = await readyPool(1);
    const reason = async (call: Promise<unknown>): Promise<string> => String(await call.catch((e: unknown) => e));
    expect(await reason(pool.map('times10', [[1]], { concurrency: 0 }))).to.equal('RangeError: map option concurrency must be a whole number from 1, or Infinity; got 0');
    expect(await reason(pool.map('times10', 5 as unknown as [number][]))).to.equal('TypeError: map(task, items): items must be an iterable of argument lists, such as [[1, 2], [3, 4]]');
    expect(await reason(pool.map('times10', [[1]], { signal: 'stop' as unknown as AbortSignal }))).to.equal('TypeError: map option signal must be an AbortSignal');
    expect(sentArgs()).to.deep.equal([]);
  });
});
