// The autoscaling signal against a real Redis: readQueueDepth counts the
// jobs waiting, prioritized (which a count of the wait list alone misses,
// as KEDA's Redis list scaler does) and running, and the oldest wait; the
// demo server with --queue-redis shows them on /metrics and /stats.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { readQueueDepth, watchQueueDepth, type QueueDepth } from '../../lib/queue/index.js';
import { encode, type JobData } from '../../lib/queue/wire.js';
import { startRedis, type RedisServer } from '../../tools/redis.js';
import { ROOT, startServerProcess } from '../../tools/server-process.js';
import { startWorkerProcess } from '../../tools/worker-process.js';
import { request } from '../support/http.js';

const TASKS = `${ROOT}dist/spec/fixtures/tasks.js`;

/** Waits until `read` gives a value `check` accepts; the last value read if none does within `withinMs`. */
async function until<T>(read: () => Promise<T> | T, check: (value: T) => boolean, withinMs = 15_000): Promise<T> {
  const deadline = Date.now() + withinMs;
  let value = await read();
  while (!check(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}

describe('slowlane/queue: the queue\'s depth, the autoscaling signal', function () {
  this.timeout(60_000);
  let redis: RedisServer;
  before(async () => (redis = await startRedis()));
  after(async () => redis?.stop());

  it('readQueueDepth: waiting, prioritized and active jobs and the oldest wait, where the wait list alone shows 2 of 4', async () => {
    const name = 'depth';
    const queue = new Queue<JobData>(name, { connection: { host: '127.0.0.1', port: redis.port } });
    const direct = new Redis({ host: '127.0.0.1', port: redis.port });
    let host;
    try {
      expect(await readQueueDepth(queue)).to.deep.equal({ waiting: 0, prioritized: 0, active: 0, backlog: 0, oldestWaitingSeconds: 0 });
      const options = { removeOnComplete: true, removeOnFail: true };
      await queue.add('sleep', { args: encode([3000]), replyTo: randomUUID() }, { ...options, jobId: randomUUID() });
      await queue.add('sleep', { args: encode([3000]), replyTo: randomUUID() }, { ...options, jobId: randomUUID() });
      await queue.add('add', { args: encode([1, 2]), replyTo: randomUUID() }, { ...options, jobId: randomUUID(), priority: 5 });
      await queue.add('add', { args: encode([3, 4]), replyTo: randomUUID() }, { ...options, jobId: randomUUID(), priority: 1 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      const before = await readQueueDepth(queue);
      expect(before).to.include({ waiting: 2, prioritized: 2, active: 0, backlog: 4 });
      expect(before.oldestWaitingSeconds).to.be.at.least(0.3).and.below(60);
      expect(await direct.llen(`bull:${name}:wait`), 'what a wait-list length shows').to.equal(2);

      // A host with one child takes one job (a plain one first: BullMQ serves jobs without a priority before prioritized ones).
      host = await startWorkerProcess(redis.port, name, TASKS, ['--niceness', '0']);
      const running = await until(() => readQueueDepth(queue), (d: QueueDepth) => d.active === 1);
      expect(running).to.include({ active: 1, backlog: 4 });
      expect(running.waiting + running.prioritized).to.equal(3);
      // Everything is served in the end: the signal goes back to 0.
      const drained = await until(() => readQueueDepth(queue), (d: QueueDepth) => d.backlog === 0, 30_000);
      expect(drained).to.deep.equal({ waiting: 0, prioritized: 0, active: 0, backlog: 0, oldestWaitingSeconds: 0 });
    } finally {
      await host?.stop();
      direct.disconnect();
      await queue.close();
    }
  });

  it('watchQueueDepth: undefined until the first reading, then the latest one', async () => {
    const watch = watchQueueDepth({ connection: { host: '127.0.0.1', port: redis.port }, queue: 'watched', everyMs: 100 });
    const queue = new Queue<JobData>('watched', { connection: { host: '127.0.0.1', port: redis.port } });
    try {
      expect(watch.latest()).to.equal(undefined);
      await queue.add('add', { args: encode([1, 2]), replyTo: randomUUID() }, { removeOnComplete: true, jobId: randomUUID() });
      const seen = await until(() => watch.latest(), (d) => d?.waiting === 1);
      expect(seen).to.include({ waiting: 1, backlog: 1 });
    } finally {
      await watch.close();
      await queue.close();
    }
  });

  it('the demo server with --queue-redis: /metrics gauges and /stats show a run no host has taken yet; never the password', async () => {
    const password = 'depth-pw-2b7e';
    const secured = await startRedis(undefined, ['--requirepass', password]);
    const name = `demo-depth${process.pid}`;
    const server = await startServerProcess(['--queue-redis', `redis://:${password}@127.0.0.1:${secured.port}`, '--queue', name, '--quiet']);
    const leave = new AbortController();
    try {
      // No host: the run waits in the queue.
      const waiting = request(`${server.url}/slow_pool?id=1&n=50`, { signal: leave.signal }).catch(() => undefined);
      const metrics = await until(async () => (await request(`${server.url}/metrics`)).body, (body) => body.includes(`slowlane_queue_backlog{queue="${name}"} 1\n`));
      expect(metrics).to.include(`slowlane_queue_backlog{queue="${name}"} 1\n`);
      expect(metrics).to.include(`slowlane_queue_jobs{queue="${name}",state="waiting"} 1\n`);
      expect(metrics).to.include(`slowlane_queue_jobs{queue="${name}",state="prioritized"} 0\n`);
      expect(metrics).to.include(`slowlane_queue_jobs{queue="${name}",state="active"} 0\n`);
      expect(metrics).to.match(new RegExp(`^slowlane_queue_oldest_waiting_seconds\\{queue="${name}"\\} \\d+(\\.\\d+)?$`, 'm'));
      expect(metrics).to.include('# TYPE slowlane_queue_backlog gauge');
      const stats = JSON.parse((await request(`${server.url}/stats`)).body) as { queue?: Record<string, unknown> };
      expect(stats.queue).to.include({ queue: name, waiting: 1, prioritized: 0, active: 0, backlog: 1 });
      expect(metrics + JSON.stringify(stats)).to.not.include(password);
      leave.abort();
      await waiting;
    } finally {
      leave.abort();
      await server.stop();
      await secured.stop();
    }
  });
});
