// Starts slowlane behind nginx on loopback: fast instances, slow instances,
// each its own `bin/server start`, and nginx with the generated config.
// Used by `make cluster-demo` and the tests; stop() ends all it started.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderNginxConfig } from '../lib/deploy/nginx-config.js';
import { startServerProcess, type ServerProcess } from '../tools/server-process.js';


export interface Instance {
  role: 'fast' | 'slow';
  address: string;
  url: string;
  server: ServerProcess;
  /** The instance's access log so far. */
  log(): string;
}

export interface Cluster {
  url: string;
  instances: Instance[];
  nginx: ChildProcess;
  runDir: string;
  stop(): Promise<void>;
}

export function findNginx(): string {
  for (const candidate of ['nginx', '/usr/sbin/nginx']) {
    if (spawnSync(candidate, ['-v']).status === 0) return candidate;
  }
  throw new Error('nginx is not installed: run "apt-get install nginx-light" (.ci/run does it for CI)');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

async function startInstance(role: 'fast' | 'slow', args: readonly string[]): Promise<Instance> {
  const server = await startServerProcess(['--trust-proxy', '127.0.0.1', ...args]);
  return { role, address: new URL(server.url).host, url: server.url, server, log: server.stderr };
}

async function stopProcess(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 12_000);
  await exited;
  clearTimeout(timer);
}

async function waitForListening(url: string, nginxExited: Promise<void>): Promise<void> {
  let stopped = false;
  void nginxExited.then(() => (stopped = true));
  for (let tries = 0; tries < 100 && !stopped; tries += 1) {
    const ok = await fetch(`${url}/fast?id=ready`).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nginx did not answer on ${url}`);
}

export async function startCluster(options: { fast?: number; slow?: number; args?: readonly string[] } = {}): Promise<Cluster> {
  const nginxBin = findNginx();
  const runDir = mkdtempSync(join(tmpdir(), 'slowlane-nginx-'));
  const instances: Instance[] = [];
  let nginx: ChildProcess | undefined;
  let nginxExited: Promise<void> = Promise.resolve();
  const stop = async (): Promise<void> => {
    if (nginx) await stopProcess(nginx, nginxExited);
    await Promise.all(instances.map((instance) => instance.server.stop(12_000)));
    rmSync(runDir, { recursive: true, force: true });
  };
  try {
    const roles = [...Array(options.fast ?? 2).fill('fast'), ...Array(options.slow ?? 2).fill('slow')] as ('fast' | 'slow')[];
    instances.push(...(await Promise.all(roles.map((role) => startInstance(role, ['--pool-size', '1', ...(options.args ?? [])])))));
    const port = await freePort();
    const config = renderNginxConfig({
      fast: instances.filter((i) => i.role === 'fast').map((i) => i.address),
      slow: instances.filter((i) => i.role === 'slow').map((i) => i.address),
      listen: `127.0.0.1:${port}`,
      timeoutSeconds: 30,
      runDir,
    });
    const configPath = join(runDir, 'nginx.conf');
    writeFileSync(configPath, config);
    // daemon off: nginx stays our child, so stop() can end it and nothing outlives the test.
    nginx = spawn(nginxBin, ['-p', runDir, '-c', configPath, '-g', 'daemon off;'], { stdio: ['ignore', 'inherit', 'inherit'] });
    const started = nginx;
    nginxExited = new Promise((resolve) => started.once('exit', () => resolve()));
    const url = `http://127.0.0.1:${port}`;
    await waitForListening(url, nginxExited);
    return { url, instances, nginx, runDir, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
