// slowlane/queue beside plain BullMQ on the same Redis, in the same run:
// 2 000 tiny tasks (heavyLifting(0)), 64 in flight, two worker hosts of 2
// children each, at niceness 0 as BullMQ's (HOST_NICENESS=19, the pool's
// default, for slowlane's own setting). slowlane: `slowlane worker` hosts and a QueueRunner (answers
// in its own inbox). BullMQ: its Worker with a sandboxed processor, and
// Queue.add + job.waitUntilFinished(QueueEvents) on the requesting side, as
// its docs show. Also Redis commands per task for each (INFO commandstats).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Redis as RedisClient } from 'ioredis';
import { DEMO_TASKS } from '../lib/demo/start.js';
import { bullmq, ioredis } from '../lib/queue/peer.js';
import { QueueRunner } from '../lib/queue/index.js';
import { startRedis } from '../tools/redis.js';
import { BIN_SERVER } from '../tools/server-process.js';
import { round } from './numbers.js';

export interface QueueThroughput {
  tasks: number;
  inFlight: number;
  slowlane: { tasksPerSecond: number; commandsPerTask: number };
  bullmq: { tasksPerSecond: number; commandsPerTask: number };
}

/** Starts `command` and resolves once it prints "taking jobs". */
function startHost(command: string, args: readonly string[]): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('taking jobs')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`${command} ${args.join(' ')} exited (${code}) before taking jobs`)));
  });
}

async function stopHosts(hosts: readonly ChildProcess[]): Promise<void> {
  await Promise.all(hosts.map((host) => new Promise((resolve) => {
    if (host.exitCode !== null || host.signalCode !== null) return resolve(undefined);
    host.once('exit', resolve);
    host.kill('SIGTERM');
    setTimeout(() => host.kill('SIGKILL'), 10_000).unref();
  })));
}

/** Every command Redis has run so far (INFO commandstats, summed). */
async function commandsRun(client: RedisClient): Promise<number> {
  const info = await client.info('commandstats');
  return [...info.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** `count` runs, `inFlight` at a time; tasks per second. */
async function drive(count: number, inFlight: number, run: () => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < count) {
      next++;
      await run();
    }
  }));
  return count / ((performance.now() - t0) / 1000);
}

export async function queueThroughput(tasks = 2000, inFlight = 64): Promise<QueueThroughput> {
  const redis = await startRedis();
  const Redis = ioredis();
  const counter = new Redis({ host: '127.0.0.1', port: redis.port });
  const hosts: ChildProcess[] = [];
  try {
    // slowlane: two `slowlane worker` hosts of 2 children.
    hosts.push(...await Promise.all([0, 1].map(() => startHost(BIN_SERVER, ['worker', '--redis', `redis://127.0.0.1:${redis.port}`, '--queue', 'tp', '--tasks', fileURLToPath(DEMO_TASKS), '--pool-size', '2', '--quiet', '--niceness', process.env['HOST_NICENESS'] ?? '0']))));
    const runner = new QueueRunner({ connection: { host: '127.0.0.1', port: redis.port }, queue: 'tp' });
    await runner.ready();
    await drive(200, inFlight, () => runner.run('heavyLifting', [0])); // warm both hosts' children
    const before = await commandsRun(counter);
    const slowlaneRate = await drive(tasks, inFlight, () => runner.run('heavyLifting', [0]));
    const slowlaneCommands = (await commandsRun(counter)) - before - 1;
    await runner.close();
    await stopHosts(hosts.splice(0));

    // BullMQ: two hosts, its Worker with a sandboxed processor, concurrency 2 (2 children each).
    const { Queue, QueueEvents } = bullmq();
    const host = fileURLToPath(new URL('./peers/bullmq-host.js', import.meta.url));
    hosts.push(...await Promise.all([0, 1].map(() => startHost(process.execPath, [host, String(redis.port), 'tpb', '2']))));
    const connection = { host: '127.0.0.1', port: redis.port };
    const queue = new Queue('tpb', { connection });
    const events = new QueueEvents('tpb', { connection });
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    // Its finished jobs are kept (trimmed to 10 000): waitUntilFinished reads the job after its event, and fails with "Missing key" if it is gone.
    const bullRun = async (): Promise<unknown> => (await queue.add('heavyLifting', { n: 0 }, { removeOnComplete: { count: 10_000 }, removeOnFail: { count: 10_000 } })).waitUntilFinished(events);
    await drive(200, inFlight, bullRun);
    const bullBefore = await commandsRun(counter);
    const bullRate = await drive(tasks, inFlight, bullRun);
    const bullCommands = (await commandsRun(counter)) - bullBefore - 1;
    await Promise.all([queue.close(), events.close()]);
    return {
      tasks, inFlight,
      slowlane: { tasksPerSecond: Math.round(slowlaneRate), commandsPerTask: round(slowlaneCommands / tasks, 1) },
      bullmq: { tasksPerSecond: Math.round(bullRate), commandsPerTask: round(bullCommands / tasks, 1) },
    };
  } finally {
    await stopHosts(hosts);
    counter.disconnect();
    await redis.stop();
  }
}

// Run on its own: node dist/bench/queue-throughput.js
if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await queueThroughput(Number(process.env['TASKS'] ?? 2000))));
