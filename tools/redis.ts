// A Redis server of a test's own: Debian's redis-server on a free loopback
// port, nothing saved to disk, stopped by the test. .ci/run installs the
// package when it is missing.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServer {
  port: number;
  child: ChildProcess;
  /** Stops it (SIGTERM, SIGKILL after 2 s); resolves once it has exited. */
  stop(): Promise<void>;
}

export const REDIS_SERVER = process.env['REDIS_SERVER'] ?? 'redis-server';

/** A port free right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** True once something answers PING with PONG on the port (or asks for a password first: it is up). */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setTimeout(500, () => socket.destroy());
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      if (answer.includes('\r\n')) socket.end();
    });
    socket.on('close', () => resolve(answer.startsWith('+PONG') || answer.startsWith('-NOAUTH')));
    socket.on('error', () => resolve(false));
  });
}

/** Starts redis-server on `port` (a free one if not given) and resolves once it answers; `extra` are more redis-server flags (--requirepass, --tls-port ...). */
export async function startRedis(port?: number, extra: readonly string[] = []): Promise<RedisServer> {
  const chosen = port ?? (await freePort());
  return started(chosen, ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', ...extra]);
}

/**
 * A Sentinel watching the primary at 127.0.0.1:`primaryPort` under `name`
 * (a quorum of one). Sentinel rewrites its config file, so it gets one in a
 * temporary folder of its own, removed when it stops. `authPass`: the
 * primary's password, for Sentinel's own connection to it.
 */
export async function startSentinel(primaryPort: number, name: string, authPass?: string): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'slowlane-sentinel-'));
  const config = join(dir, 'sentinel.conf');
  writeFileSync(config, [`port ${port}`, 'bind 127.0.0.1', 'protected-mode no', `dir ${dir}`, `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 1`,
    ...(authPass === undefined ? [] : [`sentinel auth-pass ${name} ${authPass}`]), ''].join('\n'));
  try {
    const sentinel = await started(port, [config, '--sentinel']);
    return { ...sentinel, stop: async () => {
      await sentinel.stop();
      rmSync(dir, { recursive: true, force: true });
    } };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

async function started(chosen: number, args: readonly string[]): Promise<RedisServer> {
  const child = spawn(REDIS_SERVER, args, { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let failed: Error | undefined;
  child.once('error', (error) => (failed = error));
  for (let i = 0; i < 100 && failed === undefined && child.exitCode === null; i += 1) {
    if (await pong(chosen)) {
      return {
        port: chosen,
        child,
        stop: async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
          await exited;
          clearTimeout(timer);
        },
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not start on port ${chosen}${failed ? `: ${failed.message}` : ''} (is Debian's redis-server installed? .ci/run installs it)`);
}

/** True if redis-server can be run here. */
export function hasRedis(): boolean {
  return spawnSync(REDIS_SERVER, ['--version'], { stdio: 'ignore' }).status === 0;
}
