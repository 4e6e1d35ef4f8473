// prefetch: a busy child holds runs sent ahead and begins them in order; a
// run sent ahead that never began runs elsewhere, exactly once, whatever
// happens to the run before it; a cancelled one is skipped, never run.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildPool } from '../../lib/pool/child-pool.js';
import { DeadlineError, TaskCrashedError, TaskTimeoutError } from '../../lib/pool/errors.js';

const TASKS = new URL('../fixtures/prefetch-tasks.js', import.meta.url);

/** Each label the file holds, with how many times it ran. */
const runsIn = (file: string): Record<string, number> => {
  const counts: Record<string, number> = {};
  if (!existsSync(file)) return counts;
  for (const line of readFileSync(file, 'utf8').trim().split('\n')) {
    const label = line.split(' ')[0]!;
    counts[label] = (counts[label] ?? 0) + 1;
  }
  return counts;
};

describe('prefetch: runs sent ahead, real children', () => {
  let dir: string;
  let file: string;
  let pool: ChildPool | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'slowlane-prefetch-'));
    file = join(dir, 'runs');
  });
  afterEach(async () => {
    await pool?.destroy();
    pool = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('busy children hold up to prefetch runs each, the rest wait in the queue; every answer is right; with the default, one each', async () => {
    pool = new ChildPool({ tasks: TASKS, minChildren: 2, maxChildren: 2, prefetch: 4, niceness: 0 });
    await pool.ready();
    const runs = Array.from({ length: 20 }, (_, i) => pool!.run('record', [file, `r${i}`]));
    expect(pool.stats()).to.include({ running: 8, queued: 12 });
    expect(await Promise.all(runs)).to.deep.equal(Array.from({ length: 20 }, (_, i) => `r${i}`));
    expect(Object.values(runsIn(file))).to.have.lengthOf(20).and.to.satisfy((counts: number[]) => counts.every((n) => n === 1));
    await pool.close();

    pool = new ChildPool({ tasks: TASKS, minChildren: 2, maxChildren: 2, niceness: 0 });
    await pool.ready();
    const plain = Array.from({ length: 6 }, (_, i) => pool!.run('record', [file, `p${i}`]));
    expect(pool.stats(), 'default prefetch 1').to.include({ running: 2, queued: 4 });
    await Promise.all(plain);
  });

  it('a child begins its runs in the order sent', async () => {
    pool = new ChildPool({ tasks: TASKS, minChildren: 1, maxChildren: 1, prefetch: 8, niceness: 0 });
    await pool.ready();
    await Promise.all(Array.from({ length: 30 }, (_, i) => pool!.run('record', [file, `o${i}`])));
    const order = readFileSync(file, 'utf8').trim().split('\n').map((line) => line.split(' ')[0]);
    expect(order).to.deep.equal(Array.from({ length: 30 }, (_, i) => `o${i}`));
  });

  it('an answer goes as soon as its run ends: never held back by the run after it', async () => {
    pool = new ChildPool({ tasks: TASKS, minChildren: 1, maxChildren: 1, prefetch: 2, niceness: 0 });
    await pool.ready();
    const first = pool.run('record', [file, 'first']).then(() => pool!.stats().running);
    const second = pool.run('spin', [1500]);
    expect(await first, 'the second still runs when the first is answered').to.equal(1);
    await second;
  });

  it('the run ahead crashes its child: it fails as crashed, the runs sent behind it run on another child, each once', async () => {
    pool = new ChildPool({ tasks: TASKS, minChildren: 1, maxChildren: 1, prefetch: 4, niceness: 0 });
    await pool.ready();
    const crash = pool.run('exit', [3]).then(() => 'answered', (error: unknown) => error);
    const behind = [1, 2, 3].map((i) => pool!.run('record', [file, `b${i}`]));
    expect(pool.stats()).to.include({ running: 4, queued: 0 });
    expect(await crash).to.be.instanceOf(TaskCrashedError);
    expect(await Promise.all(behind)).to.deep.equal(['b1', 'b2', 'b3']);
    expect(runsIn(file)).to.deep.equal({ b1: 1, b2: 1, b3: 1 });
    expect(pool.stats()).to.include({ crashed: 1, completed: 3, started: 2 });
  });

  it('the run ahead times out and its child is killed: the runs sent behind it run on the next child, each once', async () => {
    pool = new ChildPool({ tasks: TASKS, minChildren: 1, maxChildren: 1, prefetch: 4, niceness: 0, killGraceMs: 100 });
    await pool.ready();
    const stuck = pool.run('spin', [60_000], { timeoutMs: 300 }).then(() => 'answered', (error: unknown) => error);
    const behind = [1, 2].map((i) => pool!.run('record', [file, `t${i}`]));
    expect(await stuck).to.be.instanceOf(TaskTimeoutError);
    expect(await Promise.all(behind)).to.deep.equal(['t1', 't2']);
    expect(runsIn(file)).to.deep.equal({ t1: 1, t2: 1 });
    expect(pool.stats()).to.include({ timedOut: 1, completed: 2, started: 2 });
  });

  it('a run sent ahead that is aborted or expires before its turn fails at once and never runs; its child stays', async () => {
    pool = new ChildPool({ tasks: TASKS, minChildren: 1, maxChildren: 1, prefetch: 4, niceness: 0 });
    await pool.ready();
    const events: string[] = [];
    const ahead = pool.run('spin', [600]).then((pid) => (events.push('ahead answered'), pid));
    const controller = new AbortController();
    const aborted = pool.run('record', [file, 'aborted'], { signal: controller.signal }).catch((error: unknown) => (events.push('aborted rejected'), error));
    const late = pool.run('record', [file, 'late'], { deadlineMs: 150 }).catch((error: unknown) => (events.push('late rejected'), error));
    const after = pool.run('record', [file, 'after']);
    expect(pool.stats()).to.include({ running: 4 });
    setTimeout(() => controller.abort(new Error('caller gave up')), 50);
    expect(((await aborted) as Error).message).to.equal('caller gave up');
    expect(await late).to.be.instanceOf(DeadlineError);
    const pid = await ahead;
    expect(await after).to.equal('after');
    expect(events).to.deep.equal(['aborted rejected', 'late rejected', 'ahead answered']);
    expect(runsIn(file), 'the cancelled ones never ran').to.deep.equal({ after: 1 });
    expect(pool.stats()).to.include({ started: 1, crashed: 0, aborted: 1, expired: 1, completed: 2 });
    expect(await pool.run('spin', [0])).to.equal(pid);
  });

  it('a child never holds more runs than its tasksPerChild has left', async () => {
    pool = new ChildPool({ tasks: TASKS, minChildren: 1, maxChildren: 1, prefetch: 8, tasksPerChild: 3, niceness: 0 });
    await pool.ready();
    const runs = Array.from({ length: 10 }, (_, i) => pool!.run('record', [file, `l${i}`]));
    expect(pool.stats()).to.include({ running: 3, queued: 7 });
    expect(await Promise.all(runs)).to.have.lengthOf(10);
    const pids = new Set(readFileSync(file, 'utf8').trim().split('\n').map((line) => line.split(' ')[1]));
    expect(pids.size).to.equal(4);
    expect(pool.stats()).to.include({ completed: 10, crashed: 0, failed: 0 });
  });

  it('refuses a prefetch that is not a whole number from 1 to 1000', () => {
    for (const prefetch of [0, 1.5, 1001, Number.NaN]) expect(() => new ChildPool({ tasks: TASKS, prefetch }), String(prefetch)).to.throw(/prefetch/);
  });
});
