// The spawner's answer watch and what a pool makes of a lost spawner, with
// fake timers and fake children (the real processes are in
// spec/integration/spawner-faults.spec.ts).
import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import sinon from 'sinon';
import { ChildPool } from '../../lib/pool/child-pool.js';
import { SPAWNER_LOST, type ChildLike, type ForkFn } from '../../lib/pool/launch/fork.js';
import { ChildStartError, TaskCrashedError } from '../../lib/pool/errors.js';
import { AnswerWatch } from '../../lib/pool/launch/spawner/answer-watch.js';
import { flush, useFakeProcessesAndClock } from '../support/fake-child.js';

describe('AnswerWatch (is the spawner still answering?)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers();
  });
  afterEach(() => clock.restore());

  const make = (spawnerThere = true) => {
    const hooks = { ping: sinon.spy(() => spawnerThere), hung: sinon.spy() };
    return { watch: new AnswerWatch(2000, hooks), hooks };
  };

  it('an answer paid in time: no ping, no timer left', () => {
    const { watch, hooks } = make();
    watch.owe(1);
    clock.tick(1999);
    watch.paid(1);
    clock.tick(10_000);
    expect(hooks.ping.callCount).to.equal(0);
    expect(clock.countTimers()).to.equal(0);
  });

  it('a late answer pings; a pong gives what is owed as long again, and a second lateness pings again', () => {
    const { watch, hooks } = make();
    watch.owe(1);
    clock.tick(2000);
    expect(hooks.ping.callCount).to.equal(1);
    clock.tick(500);
    watch.pong();
    clock.tick(1999);
    expect(hooks.ping.callCount, 'not before the new limit').to.equal(1);
    clock.tick(1);
    expect(hooks.ping.callCount).to.equal(2);
    watch.pong();
    watch.paid(1);
    clock.tick(10_000);
    expect(hooks.hung.callCount, 'a slow child is not a hung spawner').to.equal(0);
  });

  it('no pong within the limit: hung, once', () => {
    const { watch, hooks } = make();
    watch.owe(1);
    watch.owe(2);
    clock.tick(2000);
    clock.tick(1999);
    expect(hooks.hung.callCount).to.equal(0);
    clock.tick(1);
    expect(hooks.hung.callCount).to.equal(1);
    watch.clear();
    clock.tick(10_000);
    expect(hooks.hung.callCount).to.equal(1);
  });

  it('the earliest of several owed answers sets the one timer; paying one keeps watching the other', () => {
    const { watch, hooks } = make();
    watch.owe(1);
    clock.tick(1000);
    watch.owe(2);
    watch.paid(1);
    clock.tick(1999);
    expect(hooks.ping.callCount).to.equal(0);
    clock.tick(1);
    expect(hooks.ping.callCount).to.equal(1);
  });

  it('no spawner to ping: nothing to condemn', () => {
    const { watch, hooks } = make(false);
    watch.owe(1);
    clock.tick(10_000);
    expect(hooks.hung.callCount).to.equal(0);
  });
});

describe('a pool whose spawner is lost (faked children)', () => {
  const env = useFakeProcessesAndClock();

  it('a child lost while it loaded: no load error, another child is started and serves the run', async () => {
    const pool = new ChildPool({ tasks: '/tasks.js', tasksPerChild: 1, maxChildren: 1, spares: 0 }, env.fakes.deps);
    const result = pool.run('add', [1, 2]);
    const lost = env.fakes.children[0]!;
    lost.emit('error', Object.assign(new Error('the spawner that started it died'), { code: SPAWNER_LOST }));
    lost.exit(null, 'SIGKILL');
    await env.clock.tickAsync(0);
    const next = env.fakes.children[1];
    expect(next, 'a second child').to.not.equal(undefined);
    next!.ready();
    next!.answer(3);
    expect(await result).to.equal(3);
    expect(pool.stats()).to.include({ failed: 0, crashed: 0, completed: 1 });
    void pool.destroy();
  });

  it('a child lost while it ran: that run fails as crashed, the next is served', async () => {
    const pool = new ChildPool({ tasks: '/tasks.js', maxChildren: 1, spares: 0 }, env.fakes.deps);
    const first = pool.run('spin').catch((error: unknown) => error);
    const child = env.fakes.children[0]!;
    child.ready();
    child.emit('error', Object.assign(new Error('the spawner that started it died'), { code: SPAWNER_LOST }));
    child.exit(null, 'SIGKILL');
    expect(await first).to.be.instanceOf(TaskCrashedError);
    const second = pool.run('add', [1, 1]);
    await env.clock.tickAsync(0);
    env.fakes.children[1]!.ready();
    env.fakes.children[1]!.answer(2);
    expect(await second).to.equal(2);
    void pool.destroy();
  });

  it('no process at startTimeoutMs (its spawner never answered): ChildStartError (503), not TaskLoadError', async () => {
    // A spawned child has no pid until its spawner says so.
    const pidless: (ChildLike & { kill: sinon.SinonSpy })[] = [];
    const fork: ForkFn = () => {
      const child = Object.assign(new EventEmitter(), { pid: undefined, send: () => false, kill: sinon.spy(() => true) });
      pidless.push(child);
      return child;
    };
    const pool = new ChildPool({ tasks: '/tasks.js', maxChildren: 1, spares: 0, startTimeoutMs: 1000 }, { ...env.fakes.deps, fork });
    const result = pool.run('add', [1, 2]).catch((error: unknown) => error);
    await env.clock.tickAsync(1000);
    expect(pidless[0]!.kill.calledWith('SIGKILL')).to.equal(true);
    // The hung spawner is killed, and its unstarted child reported lost.
    pidless[0]!.emit('error', Object.assign(new Error('the spawner died before starting it'), { code: SPAWNER_LOST }));
    await flush();
    expect(await result).to.be.instanceOf(ChildStartError);
    void pool.destroy();
  });
});
