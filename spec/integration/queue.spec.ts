// slowlane/queue against a real Redis (Debian's redis-server, started on a
// free port for this file and stopped after it) and real worker hosts
// (`slowlane worker` processes): work spread over hosts, errors with their
// classes, cancellation across processes, a host killed mid-job, Redis
// going away and coming back.
import { expect } from 'chai';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { failureResponse } from '../../lib/http/failure-response.js';
import { DeadlineError, ResultTooLargeError, TaskCrashedError, TaskError, TaskTimeoutError } from '../../lib/pool/errors.js';
import { jobKey, keySpace, waitingKey } from '../../lib/queue/channels.js';
import { QueueRunner, QueueUnavailableError } from '../../lib/queue/index.js';
import { takeBack } from '../../lib/queue/take-back.js';
import { cpuTicks, eventually, isAlive, slowlaneChildren } from '../../tools/proc.js';
import { startRedis, type RedisServer } from '../../tools/redis.js';
import { ROOT, startServerProcess } from '../../tools/server-process.js';
import { startWorkerProcess, type WorkerProcess } from '../../tools/worker-process.js';
import { request } from '../support/http.js';

const TASKS = `${ROOT}dist/spec/fixtures/tasks.js`;
type Tasks = typeof import('../fixtures/tasks.js');

const startWorker = (port: number, queue: string, extra: string[] = []): Promise<WorkerProcess> => startWorkerProcess(port, queue, TASKS, extra);
const stopWorker = (worker: WorkerProcess): Promise<void> => worker.stop();

/** Waits until an async check holds, looking every 50 ms; false if it still does not after `withinMs`. */
async function untilAsync(check: () => Promise<boolean>, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

/** The child of `workers` that is burning CPU now (a spinning task), found by its CPU time growing. */
async function spinningChild(workers: readonly WorkerProcess[], withinMs = 10_000): Promise<{ pid: number; parent: number } | undefined> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    const children = workers.flatMap((w) => slowlaneChildren({ parent: w.pid }).map((c) => ({ pid: c.pid, parent: w.pid, ticks: cpuTicks(c.pid) })));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const busy = children.find((c) => isAlive(c.pid) && cpuTicks(c.pid) - c.ticks >= 10);
    if (busy !== undefined) return busy;
  }
  return undefined;
}

describe('slowlane/queue: real Redis, real worker hosts', function () {
  this.timeout(60_000);
  let redis: RedisServer;
  let workers: WorkerProcess[] = [];
  let runner: QueueRunner<Tasks>;
  const queue = `q${process.pid}`;

  before(async () => {
    redis = await startRedis();
    workers = await Promise.all([startWorker(redis.port, queue), startWorker(redis.port, queue)]);
    runner = new QueueRunner<Tasks>({ connection: { host: '127.0.0.1', port: redis.port }, queue });
    await runner.ready();
  });
  after(async () => {
    await runner?.close();
    await Promise.all(workers.map(stopWorker));
    await redis?.stop();
  });

  it('both worker hosts take work; values cross with V8 serialization', async () => {
    const pids = await Promise.all(Array.from({ length: 6 }, () => runner.run('whoAmIAfter', [200])));
    const parents = new Set(pids.map((pid) => workers.find((w) => slowlaneChildren({ parent: w.pid }).some((c) => c.pid === pid))?.pid));
    expect([...parents].sort()).to.deep.equal(workers.map((w) => w.pid).sort());
    const map = await runner.run('echo', [new Map([[1n, Buffer.from('bytes')]])]);
    expect(map).to.deep.equal(new Map([[1n, Buffer.from('bytes')]]));
  });

  it('errors come back with their class, code and status: a task that throws, a timeout', async () => {
    const thrown = await runner.run('fail', ['boom']).catch((e: unknown) => e);
    expect(thrown).to.be.instanceOf(TaskError);
    expect(thrown).to.include({ name: 'RangeError', message: 'boom', code: 'E_FIXTURE', status: 500 });
    const late = await runner.run('spinForever', [], { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(late).to.be.instanceOf(TaskTimeoutError);
    expect(failureResponse(late).status).to.equal(504);
  });

  it('a 10 MiB result travels; one past the hosts\' 16 MiB allowance is refused with ResultTooLargeError', async () => {
    const big = await runner.run('bigBuffer', [10 * 1024 * 1024]);
    expect(big.length).to.equal(10 * 1024 * 1024);
    expect(big[12345]).to.equal(12345 % 251);
    expect(await runner.run('bigBuffer', [20 * 1024 * 1024]).catch((e: unknown) => e)).to.be.instanceOf(ResultTooLargeError);
  });

  it('a client that leaves kills the remote child; the host keeps serving', async () => {
    const controller = new AbortController();
    const leaving = runner.run('spinForever', [], { signal: controller.signal }).catch((e: unknown) => e);
    const busy = await spinningChild(workers);
    expect(busy, 'a host runs the task').to.not.equal(undefined);
    controller.abort();
    expect(((await leaving) as Error).name).to.equal('AbortError');
    expect(await eventually(() => !isAlive(busy!.pid), 10_000), 'the spinning child was killed').to.equal(true);
    expect(await runner.run('add', [2, 3])).to.equal(5);
  });

  it('a deadline that passes while a host runs the task is a timeout (504), and the host kills the child itself', async () => {
    // 2 s: time for a host to take the job even under c8's load.
    const late = await runner.run('spinForever', [], { deadlineMs: 2000 }).catch((e: unknown) => e);
    expect(late).to.be.instanceOf(TaskTimeoutError);
    expect(late).to.include({ limit: 'deadline', status: 504 });
    // The host's own deadline timer and its kill grace may trail the requester's answer by a moment:
    // within seconds, a window of 300 ms comes when no child spins.
    let quiet = false;
    for (const until = Date.now() + 10_000; !quiet && Date.now() < until; ) quiet = (await spinningChild(workers, 300)) === undefined;
    expect(quiet, 'no child spins on').to.equal(true);
  });

  it('a client that leaves at once (while its job is being added) never has it run', async () => {
    const controller = new AbortController();
    const leaving = runner.run('spinForever', [], { signal: controller.signal }).catch((e: unknown) => e);
    controller.abort();
    expect(((await leaving) as Error).name).to.equal('AbortError');
    expect(await spinningChild(workers, 3000), 'no child spins').to.equal(undefined);
  });

  it('a run whose deadline passes before any host takes it is never started: DeadlineError (503)', async () => {
    const spinning = [new AbortController(), new AbortController()];
    const busy = spinning.map((c) => runner.run('spinForever', [], { signal: c.signal }).catch(() => undefined));
    try {
      const late = await runner.run('echo', ['never'], { deadlineMs: 500 }).catch((e: unknown) => e);
      expect(late).to.be.instanceOf(DeadlineError);
      expect(failureResponse(late).status).to.equal(503);
    } finally {
      for (const c of spinning) c.abort();
      await Promise.all(busy);
    }
    const client = new Redis({ port: redis.port, host: '127.0.0.1' });
    try {
      expect(await client.llen(`bull:${queue}:wait`), 'nothing left waiting').to.equal(0);
    } finally {
      client.disconnect();
    }
  });

  it('takeBack() at a deadline: a waiting job is taken out; one finished a moment ago (its hash gone) is not, though BullMQ\'s remove() answers 1 for it', async () => {
    const own = `${queue}-takeback`;
    const space = keySpace('bull', own);
    const bare = new Queue(own, { connection: { host: '127.0.0.1', port: redis.port } });
    const client = new Redis({ port: redis.port, host: '127.0.0.1' });
    try {
      const add = async (data: object): Promise<string> => (await bare.add('echo', data, { jobId: randomUUID() })).id!;
      const waiting = await add({});
      expect(await takeBack(client, space, waiting)).to.deep.equal({ taken: true, started: false });
      expect(await client.llen(waitingKey(space)), 'out of the waiting list').to.equal(0);
      expect(await takeBack(client, space, waiting), 'a second time: not waiting').to.deep.equal({ taken: false });

      const finished = randomUUID();
      expect(await bare.remove(finished), 'BullMQ: a job that is not there is "removed"').to.equal(1);
      expect(await takeBack(client, space, finished)).to.deep.equal({ taken: false });

      // Put back in the waiting list by the stalled check: a host that died had started it.
      const stalled = await add({});
      await client.hset(jobKey(space, stalled), 'ats', '1');
      expect(await takeBack(client, space, stalled)).to.deep.equal({ taken: true, started: true });
      // Given back by a host that could not load its tasks: it never ran.
      const givenBack = await add({ givenBack: 1 });
      await client.hset(jobKey(space, givenBack), 'ats', '1');
      expect(await takeBack(client, space, givenBack)).to.deep.equal({ taken: true, started: false });
    } finally {
      client.disconnect();
      await bare.obliterate({ force: true });
      await bare.close();
    }
  });

  it('nothing stays in Redis: finished jobs removed, the events stream capped', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => runner.run('add', [i, 1])));
    const client = new Redis({ port: redis.port, host: '127.0.0.1' });
    try {
      const jobHashes = async (): Promise<string[]> => (await client.keys(`bull:${queue}:*`)).filter((key) => /^bull:[^:]+:[0-9a-f-]{36}$/.test(key));
      // A host answers before it tells BullMQ the job ended (so a host dying between the two
      // cannot lose an answer): the last jobs' hashes go a moment after their answers came.
      await untilAsync(async () => (await jobHashes()).length === 0, 5000);
      expect(await jobHashes(), 'job hashes left').to.deep.equal([]);
      expect(await client.xlen(`bull:${queue}:events`)).to.be.at.most(1100);
    } finally {
      client.disconnect();
    }
  });

  it('SIGTERM drains a worker host: the job it holds finishes and is answered, then it exits 0', async () => {
    const own = `${queue}-drain`;
    const host = await startWorker(redis.port, own);
    const ownRunner = new QueueRunner<Tasks>({ connection: { host: '127.0.0.1', port: redis.port }, queue: own });
    const client = new Redis({ port: redis.port, host: '127.0.0.1' });
    try {
      await ownRunner.ready();
      const held = ownRunner.run('sleep', [1000]);
      expect(await untilAsync(async () => (await client.llen(`bull:${own}:active`)) === 1, 5000), 'the host holds the job').to.equal(true);
      const hostChildren = slowlaneChildren({ parent: host.pid }).map((c) => c.pid);
      host.child.kill('SIGTERM');
      expect(hostChildren, 'it ran in the host\'s child, which finished it').to.include(await held);
      expect(await host.exited).to.deep.equal({ code: 0, signal: null });
    } finally {
      client.disconnect();
      await ownRunner.close();
      await host.stop();
    }
  });

  it('a worker host killed mid-job: the requester gets TaskCrashedError within seconds, and the other host serves on', async () => {
    const running = runner.run('spinForever', [], { timeoutMs: 50_000 }).catch((e: unknown) => e);
    const busy = await spinningChild(workers);
    expect(busy, 'a host runs the task').to.not.equal(undefined);
    const victim = workers.find((w) => w.pid === busy!.parent)!;
    const started = Date.now();
    victim.child.kill('SIGKILL');
    const error = await running;
    expect(error).to.be.instanceOf(TaskCrashedError);
    // Found by the other host's stalled check: lock (5 s) + check interval (2 s), not BullMQ's 30 s + 30 s.
    expect(Date.now() - started, 'learned well before BullMQ\'s default 30 s').to.be.below(25_000);
    expect(await eventually(() => !isAlive(busy!.pid), 10_000), 'the killed host\'s child is gone too').to.equal(true);
    expect(await runner.run('add', [1, 1])).to.equal(2);
    workers = workers.filter((w) => w !== victim);
  });

  it('Redis away: run() rejects at once with QueueUnavailableError (503); back again, runs succeed by themselves', async () => {
    const port = redis.port;
    const inFlight = runner.run('sleep', [5000]).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await redis.stop();
    expect(await inFlight, 'a run in flight fails at once, not at its deadline').to.be.instanceOf(QueueUnavailableError);
    const refused = await runner.run('add', [1, 2]).catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(QueueUnavailableError);
    expect(failureResponse(refused)).to.include({ status: 503 });
    redis = await startRedis(port);
    // ioredis reconnects by itself (the runner's and the hosts'); each try is bounded by its deadline.
    let answer: unknown;
    const deadline = Date.now() + 20_000;
    while (answer !== 3 && Date.now() < deadline) {
      answer = await runner.run('add', [1, 2], { deadlineMs: 2000 }).catch((e: unknown) => e);
      if (answer !== 3) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(answer).to.equal(3);
  });
});

describe('the demo server with --queue-redis: its slow routes on worker hosts', function () {
  this.timeout(60_000);

  it('/slow_pool and /slow_threaded run on a worker host, /fast at once, /stats counts them', async () => {
    const redis = await startRedis();
    const queue = `demo${process.pid}`;
    const host = await startWorker(redis.port, queue, ['--tasks', `${ROOT}dist/lib/demo/tasks.js`]);
    const server = await startServerProcess(['--queue-redis', `redis://127.0.0.1:${redis.port}`, '--queue', queue, '--quiet']);
    try {
      const demoChildren = () => slowlaneChildren({ parent: server.pid }).filter((c) => c.args.some((arg) => arg.endsWith('/demo/tasks.js')));
      expect(demoChildren(), 'the server starts no child for the slow routes').to.deep.equal([]);
      const [slowPool, slowThreaded, fast] = await Promise.all([request(`${server.url}/slow_pool?id=1&n=300`), request(`${server.url}/slow_threaded?id=2&n=300`), request(`${server.url}/fast?id=3`)]);
      expect(slowPool.status).to.equal(200);
      expect(slowPool.body).to.match(/^slow result 1 <--- \d+\.\d{3} s\n$/);
      expect(slowThreaded.body).to.match(/^slow result 2 <--- /);
      expect(fast.body).to.equal('fast result 3\n');
      const stats = JSON.parse((await request(`${server.url}/stats`)).body) as { pools: { warm: { completed: number } } };
      expect(stats.pools.warm.completed, 'one lane serves both routes').to.equal(2);
      expect(demoChildren()).to.deep.equal([]);
      // The host's log names each job's request.
      expect(host.log()).to.match(/^ok heavyLifting \d+\.\d\dms "GET \/slow_pool\?id=1&n=300"$/m);
      expect(host.log()).to.match(/^ok heavyLifting \d+\.\d\dms "GET \/slow_threaded\?id=2&n=300"$/m);
    } finally {
      await server.stop();
      await stopWorker(host);
      await redis.stop();
    }
  });
});
