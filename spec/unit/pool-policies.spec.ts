// Each policy of the pool on its own: plain functions and small objects on
// plain numbers for a clock, no pool and no children.
import { expect } from 'chai';
import sinon from 'sinon';
import { TaskLoadError } from '../../lib/pool/errors.js';
import type { FleetCounts } from '../../lib/pool/schedule/fleet.js';
import { MemoryCap } from '../../lib/pool/schedule/policy/memory-cap.js';
import { dueAfterAnswer, idleRetirement, type ChildFacts } from '../../lib/pool/schedule/policy/retirement.js';
import { Spares } from '../../lib/pool/schedule/policy/spares.js';
import { StartGate } from '../../lib/pool/schedule/policy/start-gate.js';
import { startPlan, type StartInputs } from '../../lib/pool/schedule/policy/start-plan.js';
import { WakeUp } from '../../lib/pool/schedule/wake-up.js';

const loadError = new TaskLoadError('file:///t.js', 'SyntaxError: nope');

describe('policy: start gate', () => {
  it('spends the spawn budget, counts one deferral per wait, and says when a token is back', () => {
    const gate = new StartGate(2, 0);
    expect([gate.tryStart(0, false), gate.tryStart(0, false)]).to.deep.equal([true, true]);
    expect(gate.tryStart(0, false)).to.equal(false);
    expect(gate.tryStart(100, false), 'still waiting').to.equal(false);
    expect(gate.deferred, 'one wait, however often it looked').to.equal(1);
    expect(gate.nextStartAt(100)).to.equal(500);
    expect(gate.tryStart(500, false)).to.equal(true);
  });

  it('a child that died by itself starts a back-off that holds back kept children, not waiting runs; a load error holds back both', () => {
    const gate = new StartGate(Infinity, 0);
    gate.childExited('died-idle', 1000, undefined);
    expect(gate.tryStart(1100, false), 'a spare waits out 200 ms').to.equal(false);
    expect(gate.tryStart(1100, true), 'a waiting run does not').to.equal(true);
    expect(gate.nextStartAt(1100)).to.equal(1200);
    gate.childExited('not-loaded', 1200, loadError);
    expect(gate.loadError).to.equal(loadError);
    expect(gate.tryStart(1500, true), 'the second step is 400 ms').to.equal(false);
    expect(gate.tryStart(1600, true)).to.equal(true);
    gate.childReady();
    expect(gate.loadError).to.equal(undefined);
    gate.childExited('crashed', 2000, undefined);
    gate.childExited('asked', 2000, undefined);
    expect(gate.tryStart(2000, false), 'crashes and asked exits are no back-off').to.equal(true);
  });
});

describe('policy: spares', () => {
  it('the option, raised to the tasks expected during one start-up while they arrive that fast; replaced at once only then', () => {
    const spares = new Spares(1, 8);
    expect(spares.wanted(0)).to.equal(1);
    expect(spares.replaceAtOnce(0), 'no arrivals yet').to.equal(false);
    spares.childStarted(150);
    for (let t = 0; t <= 3000; t += 100) spares.arrived(t);
    expect(spares.wanted(3000), '10 a second, 150 ms start-ups').to.equal(2);
    expect(spares.replaceAtOnce(3000)).to.equal(true);
    expect(spares.wanted(20_000), 'falls back once arrivals stop').to.equal(1);
    expect(new Spares(0, 8).wanted(3000), 'spares 0 stays 0').to.equal(0);
    expect(new Spares(3, 2).wanted(0), 'within maxChildren').to.equal(2);
  });
});

describe('policy: retirement', () => {
  const child = (startedAt: number, idleSince: number, ageLimitMs = Infinity): ChildFacts => ({ startedAt, idleSince, ageLimitMs });

  it('after an answer: age first, then size (read only when a size limit is set)', () => {
    const rss = sinon.stub().returns(300);
    expect(dueAfterAnswer(child(0, 0, 1000), 1000, 200, rss)).to.equal('age');
    expect(rss.called, 'age decided it').to.equal(false);
    expect(dueAfterAnswer(child(0, 0, 1000), 999, 200, rss)).to.equal('memory');
    expect(dueAfterAnswer(child(0, 0), 999, Infinity, rss)).to.equal(undefined);
    expect(rss.callCount, 'no read without a size limit').to.equal(1);
    expect(dueAfterAnswer(child(0, 0), 5, 200, () => undefined), 'unknown size: kept').to.equal(undefined);
  });

  it('idle children: the old leave; beyond minChildren and the spares, the longest idle past the timeout leave; otherwise when to look again', () => {
    const old = child(0, 100, 1000);
    const idleLong = child(500, 200);
    const idleShort = child(500, 900);
    const keep = { live: 4, minChildren: 1, spares: 1, sparesOption: 1, idleTimeoutMs: 500 };
    const decision = idleRetirement([idleShort, old, idleLong], keep, 1000);
    expect(decision.leave).to.deep.equal([{ child: old, reason: 'age' }, { child: idleLong, reason: 'idle' }]);
    expect(decision.nextAt, 'the spare is kept: nothing more due').to.equal(Infinity);
    const later = idleRetirement([idleShort, idleLong], { ...keep, spares: 0 }, 1000);
    expect(later.leave.map((l) => l.child)).to.deep.equal([idleLong]);
    expect(later.nextAt, 'the other is due at its own idle timeout').to.equal(1400);
    expect(idleRetirement([idleLong], { ...keep, live: 1 }, 5000).leave, 'minChildren stay').to.deep.equal([]);
    expect(idleRetirement([idleShort, idleLong], { ...keep, spares: 2, sparesOption: 1 }, 5000).nextAt, 'spares kept for a past rate: look again within a second').to.equal(6000);
    expect(idleRetirement([idleLong], { ...keep, idleTimeoutMs: Infinity }, 5000).leave).to.deep.equal([]);
  });
});

describe('policy: memory cap', () => {
  it('samples only children that start or run, returns those past the cap, and stops when none is left to watch', () => {
    const reads: number[] = [];
    const cap = new MemoryCap(100, (pid) => (reads.push(pid), pid === 2 ? 150 : 50));
    const children = [
      { pid: 1, ready: true, leaving: false },
      { pid: 2, ready: true, leaving: false },
      { pid: 3, ready: false, leaving: false },
      { pid: 4, ready: true, leaving: true },
    ];
    expect(cap.nextAt, 'nothing to sample yet').to.equal(Infinity);
    expect(cap.soon(0)).to.equal(100);
    expect(cap.soon(10), 'already due').to.equal(undefined);
    expect(cap.due(99)).to.equal(false);
    expect(cap.due(100)).to.equal(true);
    const over = cap.check(children, (c) => c.pid === 2, 100);
    expect(reads, 'the busy one and the starting one').to.deep.equal([2, 3]);
    expect(over.map((o) => [o.child.pid, o.rssMb])).to.deep.equal([[2, 150]]);
    expect(cap.last(3)).to.equal(50);
    expect(cap.nextAt).to.equal(200);
    expect(cap.check([children[0]!], () => false, 200)).to.deep.equal([]);
    expect(cap.nextAt, 'nothing runs: sampling stops').to.equal(Infinity);
    cap.forget(3);
    expect(cap.last(3)).to.equal(undefined);
    expect(new MemoryCap(Infinity, () => 1).soon(0), 'no cap, no samples').to.equal(undefined);
  });

  it('a starting child whose pid has not come yet (the spawner is busy) keeps sampling on until it can be read', () => {
    const reads: number[] = [];
    const cap = new MemoryCap(100, (pid) => (reads.push(pid), 400));
    const child: { pid: number | undefined; ready: boolean; leaving: boolean } = { pid: undefined, ready: false, leaving: false };
    cap.soon(0);
    expect(cap.check([child], () => false, 100)).to.deep.equal([]);
    expect(cap.nextAt, 'still due: its pid is to come').to.equal(200);
    child.pid = 7;
    expect(cap.check([child], () => false, 200).map((o) => [o.child.pid, o.rssMb])).to.deep.equal([[7, 400]]);
    expect(reads).to.deep.equal([7]);
    child.leaving = true;
    cap.check([child], () => false, 300);
    expect(cap.nextAt, 'a leaving one is not waited for').to.equal(Infinity);
  });
});

describe('policy: start plan', () => {
  const counts = (partial: Partial<FleetCounts>): FleetCounts => ({ alive: 0, live: 0, starting: 0, ready: 0, idle: 0, ...partial });
  const plan = (partial: Partial<StartInputs>) => startPlan({ counts: counts({}), queued: 0, minChildren: 0, maxChildren: 4, spares: 0, replaceAtOnce: false, open: true, probe: false, ...partial });

  it('a child for each waiting run beyond those starting, minChildren, and the spares; within maxChildren', () => {
    expect(plan({ queued: 3, counts: counts({ alive: 1, live: 1, starting: 1 }) })).to.deep.equal({ start: 2, forRuns: 2 });
    expect(plan({ queued: 9, counts: counts({ alive: 3, live: 3, starting: 3 }) }), 'one slot left').to.deep.equal({ start: 1, forRuns: 1 });
    expect(plan({ minChildren: 2 })).to.deep.equal({ start: 2, forRuns: 0 });
    expect(plan({ spares: 1, counts: counts({ alive: 1, live: 1, ready: 1, idle: 1 }) }), 'an idle spare is there').to.deep.equal({ start: 0, forRuns: 0 });
  });

  it('at a low rate a taken spare is replaced after its answer; at a high rate at once', () => {
    const taken = counts({ alive: 1, live: 1, ready: 1, idle: 0 });
    expect(plan({ spares: 1, counts: taken })).to.deep.equal({ start: 0, forRuns: 0 });
    expect(plan({ spares: 1, counts: taken, replaceAtOnce: true })).to.deep.equal({ start: 1, forRuns: 0 });
    const claimed = counts({ alive: 1, live: 1, starting: 1 });
    expect(plan({ spares: 2, queued: 1, counts: claimed, replaceAtOnce: true }), 'a starting child a run waits for is no spare').to.deep.equal({ start: 2, forRuns: 0 });
  });

  it('closing starts only for waiting runs; a broken module with no child gets one probe', () => {
    expect(plan({ open: false, minChildren: 2, spares: 1, queued: 1 })).to.deep.equal({ start: 1, forRuns: 1 });
    expect(plan({ probe: true })).to.deep.equal({ start: 1, forRuns: 0 });
    expect(plan({ probe: true, counts: counts({ alive: 1, live: 1, starting: 1 }) })).to.deep.equal({ start: 0, forRuns: 0 });
  });
});

describe('the wake-up timer', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers()));
  afterEach(() => clock.restore());

  it('fires once at the time asked, moves when asked again, and clears', async () => {
    const fired: number[] = [];
    const wake = new WakeUp(() => fired.push(Date.now()));
    wake.set(100, false, 0);
    wake.set(50, true, 0);
    expect(wake.at).to.equal(50);
    await clock.tickAsync(100);
    expect(fired).to.deep.equal([50]);
    expect(wake.at).to.equal(Infinity);
    wake.set(300, false, 100);
    wake.clear();
    await clock.tickAsync(500);
    expect(fired).to.deep.equal([50]);
    wake.set(Infinity, true, 0);
    expect(wake.at).to.equal(Infinity);
  });
});
