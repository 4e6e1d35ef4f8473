// A worker host whose tasks module stops loading (a deploy broke the file
// after it started): it must give its jobs back and stop taking more while a
// healthy host serves them, not fail each one at once with TaskLoadError.
// Real Redis, two real `slowlane worker` processes.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { failureResponse } from '../../lib/http/failure-response.js';
import { DeadlineError } from '../../lib/pool/errors.js';
import { QueueRunner } from '../../lib/queue/index.js';
import { eventually } from '../../tools/proc.js';
import { startRedis, type RedisServer } from '../../tools/redis.js';
import { ROOT } from '../../tools/server-process.js';
import { startWorkerProcess, type WorkerProcess } from '../../tools/worker-process.js';

const FIXTURE = `${ROOT}dist/spec/fixtures/tasks.js`;
type Tasks = typeof import('../fixtures/tasks.js');

const GOOD = `export * from ${JSON.stringify(new URL(`file://${FIXTURE}`).href)};\n`;
const BROKEN = `throw new Error('broken deploy');\n`;

describe('slowlane/queue: a worker host whose tasks module stops loading', function () {
  this.timeout(60_000);
  let redis: RedisServer;
  let dir: string;
  const started: WorkerProcess[] = [];
  const queue = `load${process.pid}`;

  before(async () => {
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'slowlane-load-'));
  });
  after(async () => {
    await Promise.all(started.map((w) => w.stop()));
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A host on a tasks file of its own that loads now; every child after the first is a new import (--tasks-per-child 1). */
  async function brokenLater(own: string, name: string): Promise<{ host: WorkerProcess; file: string }> {
    const file = join(dir, `${name}.mjs`);
    writeFileSync(file, GOOD);
    const host = await startWorkerProcess(redis.port, own, file, ['--tasks-per-child', '1']);
    started.push(host);
    return { host, file };
  }

  it('gives its jobs back and stops taking jobs; the healthy host serves every run; it takes jobs again once the module loads', async () => {
    const { host: broken, file } = await brokenLater(queue, 'tasks');
    const healthy = await startWorkerProcess(redis.port, queue, FIXTURE, ['--pool-size', '2']);
    started.push(healthy);
    const runner = new QueueRunner<Tasks>({ connection: { host: '127.0.0.1', port: redis.port }, queue, deadlineMs: 20_000 });
    try {
      await runner.ready();
      writeFileSync(file, BROKEN);
      const outcomes = await Promise.all(Array.from({ length: 40 }, () => runner.run('sleep', [50]).then(() => 'ok', (e: unknown) => (e as Error).name)));
      const failed = outcomes.filter((o) => o !== 'ok');
      expect(failed, 'runs that failed (at most 10 % may)').to.have.length.at.most(4);
      expect(failed, 'none failed').to.deep.equal([]);
      expect(broken.log()).to.match(/^worker \d+ stopped taking jobs: its tasks module does not load \(cannot load tasks module .*broken deploy\)/m);
      // Fixed: it notices by itself and takes jobs again.
      writeFileSync(file, GOOD);
      expect(await eventually(() => /^worker \d+ takes jobs again: its tasks module loads$/m.test(broken.log()), 20_000), 'it says it takes jobs again').to.equal(true);
      await healthy.stop();
      expect(await runner.run('add', [2, 3], { deadlineMs: 10_000 })).to.equal(5);
      expect(broken.log()).to.match(/^ok add /m);
    } finally {
      await runner.close();
    }
  });

  it('with no host that can load, a run ends at its deadline (503) and no job is left in Redis', async () => {
    const own = `${queue}-alone`;
    const { file } = await brokenLater(own, 'alone');
    const runner = new QueueRunner<Tasks>({ connection: { host: '127.0.0.1', port: redis.port }, queue: own });
    const client = new Redis({ port: redis.port, host: '127.0.0.1' });
    try {
      await runner.ready();
      expect(await runner.run('add', [1, 1])).to.equal(2); // the child that loaded; it retires after this one task
      writeFileSync(file, BROKEN);
      const late = await runner.run('add', [1, 2], { deadlineMs: 3000 }).catch((e: unknown) => e);
      expect(late).to.be.instanceOf(DeadlineError);
      expect(failureResponse(late).status).to.equal(503);
      const keys = await client.keys(`bull:${own}:*`);
      expect(keys.filter((key) => /^bull:[^:]+:[0-9a-f-]{36}$/.test(key)), 'job hashes left').to.deep.equal([]);
      expect(await client.llen(`bull:${own}:wait`), 'nothing left waiting').to.equal(0);
    } finally {
      client.disconnect();
      await runner.close();
    }
  });
});
