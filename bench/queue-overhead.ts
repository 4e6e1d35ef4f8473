// What the queue adds to a run: heavyLifting(0) through a local ChildPool and
// through slowlane/queue (a QueueRunner, Redis on loopback, one worker host
// in this process with the same pool settings), one at a time, at idle.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ChildPool } from '../lib/pool/child-pool.js';
import { DEMO_TASKS } from '../lib/demo/start.js';
import { QueueRunner, startQueueWorker } from '../lib/queue/index.js';
import { startRedis } from '../tools/redis.js';
import { round, summarize } from './numbers.js';
import { BIN_SERVER } from '../tools/server-process.js';

export interface QueueOverhead {
  localP50: number;
  queueP50: number;
  addedP50: number;
  queueP99: number;
  /** 8 heavyLifting(n) at once: a local pool of 2 children, and the queue with two `slowlane worker` processes of 1 child each; ms. */
  eightLocalMs: number;
  eightQueueMs: number;
}

async function p50(samples: number, run: () => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < 20; i += 1) await run(); // warm both paths
  const times: number[] = [];
  for (let i = 0; i < samples; i += 1) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  const s = summarize(times);
  return { p50: s.p50, p99: s.p99 };
}

/** Two worker hosts as their own processes; resolves once both take jobs, with a function that stops them. */
async function twoWorkerHosts(port: number, queue: string): Promise<() => Promise<void>> {
  const hosts = [0, 1].map(() => spawn(BIN_SERVER, ['worker', '--redis', `redis://127.0.0.1:${port}`, '--queue', queue, '--tasks', fileURLToPath(DEMO_TASKS), '--pool-size', '1'], { stdio: ['ignore', 'pipe', 'ignore'] }));
  await Promise.all(hosts.map((host) => new Promise<void>((resolve, reject) => {
    let out = '';
    host.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('taking jobs')) resolve();
    });
    host.once('exit', () => reject(new Error('a worker host exited before taking jobs')));
  })));
  return async () => {
    await Promise.all(hosts.map((host) => new Promise((resolve) => {
      host.once('exit', resolve);
      host.kill('SIGTERM');
    })));
  };
}

async function eightAtOnce(run: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 8 }, run));
  return performance.now() - t0;
}

export async function queueOverhead(samples: number, n = 2000): Promise<QueueOverhead> {
  const redis = await startRedis();
  const connection = { host: '127.0.0.1', port: redis.port };
  const local = new ChildPool({ tasks: DEMO_TASKS, minChildren: 1, maxChildren: 1, spares: 0 });
  const hostPool = new ChildPool({ tasks: DEMO_TASKS, minChildren: 1, maxChildren: 1, spares: 0 });
  const worker = startQueueWorker({ connection: { ...connection, maxRetriesPerRequest: null }, queue: 'bench', pool: hostPool });
  const runner = new QueueRunner({ connection, queue: 'bench' });
  try {
    await Promise.all([local.ready(), hostPool.ready(), worker.ready(), runner.ready()]);
    const localLane = await p50(samples, () => local.run('heavyLifting', [0]));
    const queueLane = await p50(samples, () => runner.run('heavyLifting', [0]));
    await worker.close(); // the two hosts below are the only ones on the queue
    const local2 = new ChildPool({ tasks: DEMO_TASKS, minChildren: 2, maxChildren: 2, spares: 0 });
    await local2.ready();
    const eightLocal = summarize([await eightAtOnce(() => local2.run('heavyLifting', [n])), await eightAtOnce(() => local2.run('heavyLifting', [n]))]).p50;
    await local2.destroy();
    const stopHosts = await twoWorkerHosts(redis.port, 'bench');
    const eightQueue = summarize([await eightAtOnce(() => runner.run('heavyLifting', [n])), await eightAtOnce(() => runner.run('heavyLifting', [n]))]).p50;
    await stopHosts();
    return {
      localP50: round(localLane.p50), queueP50: round(queueLane.p50), addedP50: round(queueLane.p50 - localLane.p50), queueP99: round(queueLane.p99),
      eightLocalMs: Math.round(eightLocal), eightQueueMs: Math.round(eightQueue),
    };
  } finally {
    await runner.close();
    await worker.close();
    await Promise.all([local.destroy(), hostPool.destroy()]);
    await redis.stop();
  }
}

// Run on its own: node dist/bench/queue-overhead.js
if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await queueOverhead(Number(process.env['SAMPLES'] ?? 500))));
