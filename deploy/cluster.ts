// Starts slowlane behind nginx on loopback: fast instances, slow instances,
// each its own `bin/server start`, and nginx with the generated config.
// Used by `make cluster-demo` and the tests; stop() ends all it started.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderNginxConfig } from '../lib/deploy/nginx-config.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Instance {
  role: 'fast' | 'slow';
  address: string;
  url: string;
  child: ChildProcess;
  /** The instance's access log so far. */
  log(): string;
  exited: Promise<void>;
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

function startInstance(role: 'fast' | 'slow', args: readonly string[]): Promise<Instance> {
  const child = spawn(`${ROOT}bin/server`, ['start', '--port', '0', '--trust-proxy', '127.0.0.1', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const found = /listening on http:\/\/(\S+)/.exec(out);
      if (found) resolve({ role, address: found[1]!, url: `http://${found[1]!}`, child, log: () => log, exited });
    });
    void exited.then(() => reject(new Error(`a ${role} instance exited before listening: ${log}`)));
  });
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
    await Promise.all(instances.map((instance) => stopProcess(instance.child, instance.exited)));
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
