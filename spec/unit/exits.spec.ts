// The ways a child is told to go (schedule/exits.ts), the fleet's retiring
// children, and the memory cap's decisions: the policies decide, the pool
// carries the decisions out through carryOut().
import { expect } from 'chai';
import sinon from 'sinon';
import { TaskMemoryError } from '../../lib/pool/errors.js';
import { carryOut } from '../../lib/pool/schedule/exits.js';
import { Fleet } from '../../lib/pool/schedule/fleet.js';
import type { Job } from '../../lib/pool/schedule/job.js';
import { MemoryCap } from '../../lib/pool/schedule/policy/memory-cap.js';
import type { ChildWorker } from '../../lib/pool/schedule/worker.js';

const fakeChild = (state: Partial<{ pid: number; ready: boolean; busy: boolean; free: boolean; leaving: boolean }> = {}) =>
  ({ pid: 1, ready: true, busy: false, free: true, leaving: false, ...state, stop: sinon.spy(), kill: sinon.spy(), cancel: sinon.spy(), failStart: sinon.spy() }) as unknown as ChildWorker & Record<'stop' | 'kill' | 'cancel' | 'failStart', sinon.SinonSpy>;

describe('exits: carryOut()', () => {
  it('tells the child to go the way decided, and only that way', () => {
    const job = { id: 1 } as unknown as Job;
    const cases = [
      [{ how: 'stop' }, 'stop', []],
      [{ how: 'kill' }, 'kill', [undefined]],
      [{ how: 'kill', signal: 'SIGKILL' }, 'kill', ['SIGKILL']],
      [{ how: 'cancel', job }, 'cancel', [job]],
      [{ how: 'fail-start', reason: 'too big' }, 'failStart', ['too big']],
    ] as const;
    for (const [exit, method, args] of cases) {
      const child = fakeChild();
      carryOut(child, exit);
      expect(child[method].args, JSON.stringify(exit)).to.deep.equal([args]);
      const others = (['stop', 'kill', 'cancel', 'failStart'] as const).filter((m) => m !== method);
      expect(others.filter((m) => child[m].called), JSON.stringify(exit)).to.deep.equal([]);
    }
  });
});

describe('fleet: retiring children', () => {
  it('a retiring child is never picked or counted idle, and is handed out once when it is idle', () => {
    const fleet = new Fleet();
    const a = fakeChild({ pid: 1 });
    const b = fakeChild({ pid: 2 });
    fleet.add(a);
    fleet.add(b);
    expect(fleet.pick(false)).to.equal(a);
    fleet.retire(a, 'tasks');
    expect(fleet.isRetiring(a)).to.equal(true);
    expect(fleet.pick(false), 'the retiring one is skipped').to.equal(b);
    expect(fleet.idle()).to.deep.equal([b]);
    Object.assign(a, { busy: true });
    expect(fleet.takeRetired(), 'busy: not yet').to.deep.equal([]);
    Object.assign(a, { busy: false });
    expect(fleet.takeRetired()).to.deep.equal([[a, 'tasks']]);
    expect(fleet.takeRetired(), 'once').to.deep.equal([]);
    fleet.retire(b, 'memory');
    fleet.delete(b);
    expect(fleet.isRetiring(b), 'an exited child is forgotten').to.equal(false);
  });
});

describe('fleet: which child takes a run', () => {
  const child = (pid: number, free: boolean, held: number, room: boolean) =>
    ({ pid, free, held, canTake: (stream: boolean) => free || (!stream && room) }) as unknown as ChildWorker;

  it('a free child first, even after busy ones with room; else the busy one holding fewest with room; a stream run only a free one', () => {
    const fleet = new Fleet();
    const full = child(1, false, 4, false);
    const two = child(2, false, 2, true);
    const one = child(3, false, 1, true);
    for (const each of [full, two, one]) fleet.add(each);
    expect(fleet.pick(false)?.pid, 'fewest held, with room').to.equal(3);
    expect(fleet.pick(true), 'a stream run waits for a free child').to.equal(undefined);
    const free = child(4, true, 0, true);
    fleet.add(free);
    expect(fleet.pick(false)?.pid).to.equal(4);
    expect(fleet.pick(true)?.pid).to.equal(4);
    fleet.retire(one, 'tasks');
    fleet.delete(free);
    expect(fleet.pick(false)?.pid, 'never a retiring one').to.equal(2);
  });
});

describe('policy: memory cap decisions', () => {
  it('a starting child past the cap fails its start; a busy one is SIGKILLed and its run gets TaskMemoryError', () => {
    const cap = new MemoryCap(150, (pid) => (pid === 3 ? 90 : 400));
    const starting = fakeChild({ pid: 1, ready: false });
    const busy = fakeChild({ pid: 2, busy: true });
    const small = fakeChild({ pid: 3, busy: true });
    cap.soon(0);
    const decisions = cap.decide([starting, busy, small], (child) => (child === starting ? undefined : 'hog'), 100);
    expect(decisions.map((d) => [d.child.pid, d.exit])).to.deep.equal([
      [1, { how: 'fail-start', reason: 'its setup() passed the memory cap of 150 MiB (400 MiB)' }],
      [2, { how: 'kill', signal: 'SIGKILL' }],
    ]);
    expect(decisions[0]!.error, 'no run to fail').to.equal(undefined);
    expect(decisions[1]!.error).to.be.instanceOf(TaskMemoryError);
    expect(decisions[1]!.error!.message).to.include('hog');
    for (const child of [starting, busy, small]) expect(child.kill.called || child.failStart.called, 'deciding does nothing to a child').to.equal(false);
  });
});
