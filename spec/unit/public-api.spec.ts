import { expect } from 'chai';

describe('the package root', () => {
  it('exports the library from "slowlane": the pool, offload, failureResponse, HttpError, the errors, the defaults', async () => {
    const api = await import('slowlane');
    for (const name of ['ChildPool', 'offload', 'failureResponse', 'HttpError', 'TaskError', 'TaskCrashedError', 'TaskTimeoutError', 'QueueFullError', 'TaskLoadError', 'PoolClosedError', 'DeadlineError', 'ChildStartError']) {
      expect(api, name).to.have.property(name).that.is.a('function');
    }
    expect(api.POOL_DEFAULTS).to.include({ minChildren: 0, spares: 1, tasksPerChild: Infinity, niceness: 19 });
    expect(new api.QueueFullError('t', 3)).to.be.instanceOf(Error).and.include({ code: 'ERR_QUEUE_FULL', maxQueue: 3 });
  });

  it('keeps the demo out of the root, at "slowlane/demo"', async () => {
    const api = await import('slowlane');
    for (const name of ['createServer', 'startSlowlane', 'heavyLifting']) expect(api, name).not.to.have.property(name);
    const demo = await import('slowlane/demo');
    for (const name of ['createServer', 'startSlowlane', 'heavyLifting']) expect(demo, name).to.have.property(name).that.is.a('function');
  });
});
