// LoadGuard: a host whose tasks module stops loading stops taking jobs once,
// tries the module again on a bounded back-off, and takes jobs again when it
// loads. Fake timers, fake hooks.
import { expect } from 'chai';
import sinon from 'sinon';
import { TaskLoadError } from '../../lib/pool/errors.js';
import { isLoadError, LoadGuard } from '../../lib/queue/load-guard.js';

describe('LoadGuard', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers()));
  afterEach(() => clock.restore());

  const broken = new TaskLoadError('file:///tasks.js', 'Error: broken deploy');

  function guardWith(probe: () => Promise<void>) {
    const events: string[] = [];
    const guard = new LoadGuard({
      pause: async () => void events.push('pause'),
      resume: async () => void events.push('resume'),
      probe: () => (events.push(`probe@${Date.now()}`), probe()),
      onChange: (taking, error) => void events.push(taking ? 'taking' : `stopped: ${error?.message}`),
      initialMs: 500,
      maxMs: 4000,
    });
    return { guard, events };
  }

  it('stops once however many runs trip it, probes at 0.5, 1.5, 3.5, 7.5, 11.5 s (doubling, capped at 4 s), and resumes when the module loads', async () => {
    let loads = false;
    const { guard, events } = guardWith(async () => {
      if (!loads) throw broken;
    });
    await Promise.all([guard.tripped(broken), guard.tripped(broken)]);
    expect(guard.stopped).to.equal(true);
    await clock.tickAsync(11_500);
    expect(events).to.deep.equal([`stopped: ${broken.message}`, 'pause', 'probe@500', 'probe@1500', 'probe@3500', 'probe@7500', 'probe@11500']);
    loads = true;
    await clock.tickAsync(4000);
    expect(events.slice(7)).to.deep.equal(['probe@15500', 'resume', 'taking']);
    expect(guard.stopped).to.equal(false);
    // Tripped again later: the back-off starts from its first step.
    await guard.tripped(broken);
    await clock.tickAsync(500);
    expect(events.slice(10)).to.deep.equal([`stopped: ${broken.message}`, 'pause', 'probe@16000', 'resume', 'taking']);
  });

  it('a probe that hangs counts as not yet; close() ends the tries; another failure (pool closed) ends them too', async () => {
    const { guard, events } = guardWith(() => new Promise<void>(() => {}));
    await guard.tripped(broken);
    await clock.tickAsync(500 + 4000 + 1000);
    expect(events.filter((e) => e.startsWith('probe'))).to.deep.equal(['probe@500', 'probe@5500']);
    guard.close();
    await clock.tickAsync(60_000);
    expect(events.filter((e) => e.startsWith('probe'))).to.have.length(2);

    const closing = guardWith(() => Promise.reject(new Error('pool was closed')));
    await closing.guard.tripped(broken);
    await clock.tickAsync(60_000);
    expect(closing.events).to.deep.equal([`stopped: ${broken.message}`, 'pause', 'probe@66000']);
  });

  it('knows the pool\'s load error by its code, not by class', () => {
    expect(isLoadError(broken)).to.equal(true);
    expect(isLoadError(Object.assign(new Error('x'), { code: 'ERR_TASK_MODULE_LOAD' }))).to.equal(true);
    expect(isLoadError(new Error('cannot load'))).to.equal(false);
    expect(isLoadError(null)).to.equal(false);
  });
});
