// make cluster-demo: 2 fast + 2 slow instances behind nginx, with the slow
// work on slowlane/queue and two worker hosts (Redis of its own on loopback),
// the seed scenario through nginx, which worker host served each slow
// request, then everything stopped. Without redis-server, the slow
// instances run the work in their own children, as before.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { hasRedis, startRedis, type RedisServer } from '../tools/redis.js';
import { startWorkerProcess, type WorkerProcess } from '../tools/worker-process.js';
import { startCluster } from './cluster.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DEMO_TASKS = `${ROOT}dist/lib/demo/tasks.js`;

let redis: RedisServer | undefined;
let hosts: WorkerProcess[] = [];
const args: string[] = [];
if (hasRedis()) {
  redis = await startRedis();
  hosts = await Promise.all([0, 1].map(() => startWorkerProcess(redis!.port, 'slowlane', DEMO_TASKS)));
  args.push('--queue-redis', `redis://127.0.0.1:${redis.port}`);
} else console.log('redis-server is not installed (apt-get install redis-server): the slow instances use their own children\n');

const cluster = await startCluster({ args });
let code = 1;
try {
  console.log(`nginx on ${cluster.url} in front of:`);
  for (const instance of cluster.instances) console.log(`  ${instance.role} instance ${instance.url}`);
  if (redis !== undefined) console.log(`  slow work on Redis 127.0.0.1:${redis.port}, queue "slowlane", worker hosts ${hosts.map((h) => h.pid).join(' and ')}`);
  console.log('');
  const run = spawn(`${ROOT}bin/call-multi`, ['slow_threaded', '--url', cluster.url], { stdio: 'inherit' });
  code = await new Promise<number>((resolve) => run.once('exit', (exit) => resolve(exit ?? 1)));
  const served = (role: string) => cluster.instances.filter((i) => i.role === role).map((i) => (i.log().match(/ GET /g) ?? []).length);
  console.log(`\nrequests served: fast instances ${served('fast').join(' + ')}, slow instances ${served('slow').join(' + ')}`);
  for (const host of hosts) {
    const jobs = host.log().split('\n').filter((line) => /^\S+ heavyLifting /.test(line));
    console.log(`worker host ${host.pid} ran ${jobs.length} slow request(s)${jobs.length === 0 ? '' : ':'}`);
    for (const line of jobs) console.log(`  ${line}`);
  }
} finally {
  await cluster.stop();
  await Promise.all(hosts.map((host) => host.stop()));
  await redis?.stop();
  console.log('stopped nginx, every instance and worker host, and Redis');
}
process.exitCode = code;
