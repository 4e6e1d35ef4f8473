// make cluster-demo: 2 fast + 2 slow instances behind nginx, the seed scenario
// through nginx, then everything stopped.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startCluster } from './cluster.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const cluster = await startCluster();
let code = 1;
try {
  console.log(`nginx on ${cluster.url} in front of:`);
  for (const instance of cluster.instances) console.log(`  ${instance.role} instance ${instance.url}`);
  console.log('');
  const run = spawn(`${ROOT}bin/call-multi`, ['slow_threaded', '--url', cluster.url], { stdio: 'inherit' });
  code = await new Promise<number>((resolve) => run.once('exit', (exit) => resolve(exit ?? 1)));
  const served = (role: string) => cluster.instances.filter((i) => i.role === role).map((i) => (i.log().match(/ GET /g) ?? []).length);
  console.log(`\nrequests served: fast instances ${served('fast').join(' + ')}, slow instances ${served('slow').join(' + ')}`);
} finally {
  await cluster.stop();
  console.log('stopped nginx and every instance');
}
process.exitCode = code;
