import { expect } from 'chai';

describe('the package root', () => {
  it('exports the executors, the errors and the server from "slowlane"', async () => {
    const api = await import('slowlane');
    for (const name of ['PoolExecutor', 'ForkExecutor', 'TaskError', 'TaskCrashedError', 'TaskTimeoutError', 'QueueFullError', 'TaskLoadError', 'ExecutorClosedError', 'createServer', 'startSlowlane', 'heavyLifting']) {
      expect(api, name).to.have.property(name).that.is.a('function');
    }
    expect(new api.QueueFullError('t', 3)).to.be.instanceOf(Error).and.include({ code: 'ERR_QUEUE_FULL', maxQueue: 3 });
  });
});
