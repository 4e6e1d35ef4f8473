// Redis URLs on the command line: a password never reaches a message, a
// password-protected Redis works and a wrong password is named as such, and
// rediss:// (TLS, what managed Redis hands out) works, with a self-signed CA
// given to the worker host by NODE_EXTRA_CA_CERTS. Real redis-server, real
// `slowlane worker` processes.
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failureResponse } from '../../lib/http/failure-response.js';
import { Redis } from 'ioredis';
import { QueueRunner, QueueUnavailableError } from '../../lib/queue/index.js';
import { parseRedisUrl } from '../../lib/queue/redis-url.js';
import { freePort, startRedis, type RedisServer } from '../../tools/redis.js';
import { BIN_SERVER, ROOT, startUntil } from '../../tools/server-process.js';

const TASKS = `${ROOT}dist/spec/fixtures/tasks.js`;
type Tasks = typeof import('../fixtures/tasks.js');
const PASSWORD = 'pw-0f5e-s3cret';

/** Runs `bin/server worker ...args` to its end (killed after `withinMs`): its exit code and what it wrote. */
function runWorker(args: readonly string[], withinMs = 15_000): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(BIN_SERVER, ['worker', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), withinMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

const workerArgs = (url: string, queue: string): string[] => ['--redis', url, '--queue', queue, '--tasks', TASKS, '--pool-size', '1'];

describe('slowlane worker: Redis URLs with a password, and rediss://', function () {
  this.timeout(60_000);

  it('a URL it cannot take is refused (exit 2) with one line that never shows the password', async () => {
    for (const url of [`redis://admin:${PASSWORD}@127.0.0.1:99999`, `http://admin:${PASSWORD}@127.0.0.1:6379`, `redis://:${PASSWORD}@127.0.0.1/x`]) {
      const { code, out, err } = await runWorker(workerArgs(url, 'q'));
      expect(code, url).to.equal(2);
      expect(out + err).to.not.include(PASSWORD);
      expect(err.trim().split('\n'), 'one line').to.have.length(1);
      expect(err).to.match(/^slowlane worker: --redis: /);
    }
    const { err } = await runWorker(workerArgs(`redis://admin:${PASSWORD}@127.0.0.1:99999`, 'q'));
    expect(err).to.include('"redis://admin:***@127.0.0.1:99999"');
  });

  describe('a Redis with a password (--requirepass)', () => {
    let redis: RedisServer;
    before(async () => (redis = await startRedis(undefined, ['--requirepass', PASSWORD])));
    after(async () => redis?.stop());

    it('the URL with the password works', async () => {
      const url = `redis://:${PASSWORD}@127.0.0.1:${redis.port}`;
      const host = await startUntil(BIN_SERVER, ['worker', ...workerArgs(url, 'auth')], /taking jobs from queue/);
      const runner = new QueueRunner<Tasks>({ connection: parseRedisUrl(url), queue: 'auth', deadlineMs: 10_000 });
      try {
        expect(await runner.run('add', [2, 3])).to.equal(5);
        expect(host.stderr() + (host.ready[0] ?? '')).to.not.include(PASSWORD);
      } finally {
        await runner.close();
        await host.stop();
      }
    });

    it('a wrong password is reported as one (exit 1), not as Redis unreachable, and not printed', async () => {
      const wrong = 'not-the-pw-77';
      const { code, out, err } = await runWorker(workerArgs(`redis://:${wrong}@127.0.0.1:${redis.port}`, 'auth'));
      expect(code).to.equal(1);
      expect(out + err).to.not.include(wrong);
      expect(err).to.match(new RegExp(`^slowlane worker: Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${redis.port} refused the password \\(WRONGPASS`, 'm'));
      expect(err).to.not.match(/unreachable/i);
      const none = await runWorker(workerArgs(`redis://127.0.0.1:${redis.port}`, 'auth'));
      expect(none.code).to.equal(1);
      expect(none.err).to.match(/^slowlane worker: Redis at redis:\/\/127\.0\.0\.1:\d+ asks for a password \(NOAUTH/m);
    });

    it('a QueueRunner with a wrong password: run() fails with QueueUnavailableError (503) saying so, not "unreachable", without the password', async () => {
      const wrong = 'not-the-pw-78';
      const runner = new QueueRunner<Tasks>({ connection: parseRedisUrl(`redis://:${wrong}@127.0.0.1:${redis.port}`), queue: 'auth', deadlineMs: 5000 });
      try {
        const refused = await runner.run('add', [1, 1]).catch((e: unknown) => e);
        expect(refused).to.be.instanceOf(QueueUnavailableError);
        expect(failureResponse(refused).status).to.equal(503);
        expect((refused as Error).message).to.match(/^task "add" could not be queued: the job queue \(Redis\) refused the password \(WRONGPASS/);
        expect((refused as Error).message + failureResponse(refused).body).to.not.include(wrong);
      } finally {
        // Its BullMQ clients wait to be let in before they close (they retry the password): let them in, then close.
        const admin = new Redis({ host: '127.0.0.1', port: redis.port, password: PASSWORD });
        await admin.config('SET', 'requirepass', wrong);
        await runner.close();
        await admin.config('SET', 'requirepass', PASSWORD).catch(() => undefined);
        admin.disconnect();
      }
    });
  });

  describe('rediss:// (TLS)', () => {
    let redis: RedisServer | undefined;
    let dir: string;
    let tlsPort: number;

    before(async function () {
      dir = mkdtempSync(join(tmpdir(), 'slowlane-tls-'));
      // A self-signed certificate for 127.0.0.1 that is its own CA.
      const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
      expect(made.status, 'openssl made a certificate').to.equal(0);
      tlsPort = await freePort();
      redis = await startRedis(undefined, ['--tls-port', String(tlsPort), '--tls-cert-file', join(dir, 'cert.pem'), '--tls-key-file', join(dir, 'key.pem'), '--tls-ca-cert-file', join(dir, 'cert.pem'), '--tls-auth-clients', 'no', '--requirepass', PASSWORD]);
    });
    after(async () => {
      await redis?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('a worker host takes jobs over TLS (its CA from NODE_EXTRA_CA_CERTS); a requester with the CA in its connection gets the answer', async () => {
      const url = `rediss://:${PASSWORD}@127.0.0.1:${tlsPort}`;
      const host = await startUntil(BIN_SERVER, ['worker', ...workerArgs(url, 'tls')], /taking jobs from queue "tls" on (\S+)/, { env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') } });
      const connection = parseRedisUrl(url);
      const runner = new QueueRunner<Tasks>({ connection: { ...connection, tls: { ...(connection as { tls?: object }).tls, ca: readFileSync(join(dir, 'cert.pem')) } }, queue: 'tls', deadlineMs: 10_000 });
      try {
        expect(host.ready[1]).to.equal(`rediss://:***@127.0.0.1:${tlsPort}`);
        expect(await runner.run('add', [20, 22])).to.equal(42);
      } finally {
        await runner.close();
        await host.stop();
      }
    });

    it('without the CA, the worker host says the certificate is not trusted (exit 1)', async () => {
      const { code, err } = await runWorker(workerArgs(`rediss://:${PASSWORD}@127.0.0.1:${tlsPort}`, 'tls'));
      expect(code).to.equal(1);
      expect(err).to.not.include(PASSWORD);
      expect(err).to.match(/^slowlane worker: Redis at rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+: TLS: self-signed certificate/m);
    });
  });
});
