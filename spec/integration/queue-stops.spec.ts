// A job stopped on its worker host by something other than its task reaches
// a requester that still waits as an error that says why, never as "task
// threw a non-Error value": a cancel message for its job that its requester
// did not send (a forged one), a cancel mark set before a host took it, and
// a lock the host could not renew. Real Redis, a real `slowlane worker`.
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { TaskCrashedError } from '../../lib/pool/errors.js';
import { JobStoppedError, QueueRunner } from '../../lib/queue/index.js';
import { cancelChannel, cancelledKey, keySpace } from '../../lib/queue/channels.js';
import { startRedis, type RedisServer } from '../../tools/redis.js';
import { ROOT } from '../../tools/server-process.js';
import { startWorkerProcess, type WorkerProcess } from '../../tools/worker-process.js';

const TASKS = `${ROOT}dist/spec/fixtures/tasks.js`;
type Tasks = typeof import('../fixtures/tasks.js');

/** The one job id in a BullMQ list of `queue` (active, wait), once there is one. */
async function jobIn(redis: Redis, queue: string, list: 'active' | 'wait', withinMs = 15_000): Promise<string> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    const [id] = await redis.lrange(`bull:${queue}:${list}`, 0, -1);
    if (id !== undefined) return id;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no job in ${queue}'s ${list} list within ${withinMs} ms`);
}

describe('slowlane/queue: a job stopped on its host reaches its requester with the reason', function () {
  this.timeout(60_000);
  let redis: RedisServer;
  let direct: Redis;
  const hosts: WorkerProcess[] = [];
  const runners: QueueRunner<Tasks>[] = [];

  before(async () => {
    redis = await startRedis();
    direct = new Redis({ host: '127.0.0.1', port: redis.port });
  });
  after(async () => {
    await Promise.all(runners.map((runner) => runner.close()));
    await Promise.all(hosts.map((host) => host.stop()));
    direct?.disconnect();
    await redis?.stop();
  });

  const host = async (queue: string): Promise<WorkerProcess> => {
    const started = await startWorkerProcess(redis.port, queue, TASKS, ['--niceness', '0']);
    hosts.push(started);
    return started;
  };
  const runner = (queue: string): QueueRunner<Tasks> => {
    const made = new QueueRunner<Tasks>({ connection: { host: '127.0.0.1', port: redis.port }, queue, deadlineMs: 40_000 });
    runners.push(made);
    return made;
  };

  it('a cancel message its requester did not send: JobStoppedError (503) naming the cancel channel; the host logs it by name', async () => {
    const worker = await host('forged');
    const running = runner('forged').run('spinForever', []).catch((e: unknown) => e);
    const id = await jobIn(direct, 'forged', 'active');
    await direct.publish(cancelChannel(keySpace('bull', 'forged')), id);
    const error = await running;
    expect(error).to.be.instanceOf(JobStoppedError);
    expect(error).to.include({ reason: 'cancelled', status: 503 });
    expect((error as Error).message).to.match(/^task "spinForever" was stopped on its worker host: a cancel for its job came on the queue's cancel channel/);
    expect((error as Error).message).to.not.include('non-Error');
    expect(worker.log()).to.match(/^JobStoppedError spinForever \d+\.\d\dms$/m);
  });

  it('a cancel mark set before any host took the job: JobStoppedError, the task never run', async () => {
    const running = runner('marked').run('add', [1, 2]).catch((e: unknown) => e);
    const id = await jobIn(direct, 'marked', 'wait');
    await direct.set(cancelledKey(keySpace('bull', 'marked'), id), '1', 'PX', 60_000);
    const worker = await host('marked');
    const error = await running;
    expect(error).to.be.instanceOf(JobStoppedError);
    expect(error).to.include({ reason: 'cancelled' });
    expect(worker.log(), 'no job line: it never ran').to.not.match(/ add /);
  });

  it('a lock the host cannot renew: it stops the job; the requester hears it was lost mid-run (not run twice), not "non-Error"', async () => {
    const worker = await host('locked');
    const running = runner('locked').run('spinForever', []).catch((e: unknown) => e);
    const id = await jobIn(direct, 'locked', 'active');
    // Another token holds its lock now, for a moment: the host's next renewal fails; once the lock lapses the stalled check gives the job back.
    await direct.set(`bull:locked:${id}:lock`, 'not-this-hosts-token', 'PX', 1500);
    const error = await running;
    expect(error).to.be.instanceOf(TaskCrashedError);
    expect((error as Error).message).to.match(/^task "spinForever" was lost mid-run: the worker host that held it died or lost its lock on the job/);
    expect(worker.log()).to.match(/^JobStoppedError spinForever /m);
  });
});
