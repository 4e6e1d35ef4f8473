// readQueueDepth with a fake BullMQ Queue (what it asks and how it adds up),
// and the /metrics families the demo writes from it.
import { expect } from 'chai';
import sinon from 'sinon';
import { toPrometheus } from '../../lib/demo/metrics.js';
import { QueueLane } from '../../lib/demo/queue-lane.js';
import type { StatsSnapshot } from '../../lib/demo/server-stats.js';
import { readQueueDepth, type DepthSource } from '../../lib/queue/queue-depth.js';

const fakeQueue = (counts: Record<string, number>, next: Record<string, { timestamp: number }[]>): DepthSource => ({
  getJobCounts: sinon.fake.resolves(counts),
  getJobs: sinon.fake(async (types: string[]) => next[types[0]!] ?? []),
} as unknown as DepthSource);

describe('slowlane/queue: readQueueDepth', () => {
  it('adds waiting, prioritized and active up to the backlog; the oldest wait is the older of the next plain and the next prioritized job', async () => {
    const queue = fakeQueue({ wait: 3, prioritized: 4, active: 2 }, { wait: [{ timestamp: 10_000 }], prioritized: [{ timestamp: 7_500 }] });
    expect(await readQueueDepth(queue, () => 12_000)).to.deep.equal({ waiting: 3, prioritized: 4, active: 2, backlog: 9, oldestWaitingSeconds: 4.5 });
    expect((queue.getJobCounts as sinon.SinonSpy).firstCall.args).to.deep.equal(['wait', 'prioritized', 'active']);
    // From the end the hosts take from: the next job of each kind.
    expect((queue.getJobs as sinon.SinonSpy).args).to.deep.equal([[['wait'], 0, 0, true], [['prioritized'], 0, 0, true]]);
  });

  it('nothing waits: 0 s; a count BullMQ leaves out is 0; a clock behind the job\'s is never a negative age', async () => {
    expect(await readQueueDepth(fakeQueue({}, {}), () => 1)).to.deep.equal({ waiting: 0, prioritized: 0, active: 0, backlog: 0, oldestWaitingSeconds: 0 });
    expect((await readQueueDepth(fakeQueue({ wait: 1 }, { wait: [{ timestamp: 5000 }] }), () => 4000)).oldestWaitingSeconds).to.equal(0);
  });
});

describe('the demo\'s /metrics: the queue\'s depth', () => {
  const base: StatsSnapshot = { uptimeSeconds: 1, requests: {}, pools: {}, eventLoopDelayMs: { p50: 0, p99: 0, max: 0 } };

  it('gauges per state, the backlog and the oldest wait, labelled with the queue\'s name', () => {
    const text = toPrometheus({ ...base, queue: { queue: 'slow"lane', waiting: 3, prioritized: 4, active: 2, backlog: 9, oldestWaitingSeconds: 4.5 } });
    expect(text).to.include('# TYPE slowlane_queue_jobs gauge\nslowlane_queue_jobs{queue="slow\\"lane",state="waiting"} 3\nslowlane_queue_jobs{queue="slow\\"lane",state="prioritized"} 4\nslowlane_queue_jobs{queue="slow\\"lane",state="active"} 2\n');
    expect(text).to.include('# TYPE slowlane_queue_backlog gauge\nslowlane_queue_backlog{queue="slow\\"lane"} 9\n');
    expect(text).to.include('# TYPE slowlane_queue_oldest_waiting_seconds gauge\nslowlane_queue_oldest_waiting_seconds{queue="slow\\"lane"} 4.5\n');
  });

  it('no reading (no queue, or Redis cannot be read): no queue family at all, never a 0 that would scale the hosts down', () => {
    expect(toPrometheus(base)).to.not.include('slowlane_queue_');
  });
});

describe('the demo\'s QueueLane: the queue\'s depth', () => {
  const remote = () => ({ run: sinon.fake.resolves(1), ready: sinon.fake.resolves(undefined), close: sinon.fake.resolves(undefined) });

  it('names the last reading with its queue; none before the first reading; closing the lane closes the watch', async () => {
    const reading = { waiting: 1, prioritized: 0, active: 2, backlog: 3, oldestWaitingSeconds: 0.5 };
    const watch = { latest: sinon.stub().returns(undefined), close: sinon.fake.resolves(undefined) };
    const runner = remote();
    const lane = new QueueLane(runner, { queue: 'slowlane', watch });
    expect(lane.queueDepth()).to.equal(undefined);
    watch.latest.returns(reading);
    expect(lane.queueDepth()).to.deep.equal({ queue: 'slowlane', ...reading });
    await lane.close();
    expect(runner.close.calledOnce && watch.close.calledOnce).to.equal(true);
    expect(new QueueLane(remote()).queueDepth(), 'no watch, no reading').to.equal(undefined);
  });
});
