// Redis as production runs it, against real redis-servers: an ACL user
// (redis://user:password@host), a primary found through Sentinel
// (redis+sentinel://), and a key prefix (a Cluster's hash tag). The password
// is looked for, and must not be found, in every line the worker host and
// the demo server write, in their error bodies, /stats and /metrics.
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueueRunner, QueueUnavailableError } from '../../lib/queue/index.js';
import { parseRedisUrl } from '../../lib/queue/redis-url.js';
import { freePort, startRedis, startSentinel, type RedisServer } from '../../tools/redis.js';
import { BIN_SERVER, ROOT, startServerProcess, startUntil, type StartedProcess } from '../../tools/server-process.js';
import { request } from '../support/http.js';

const TASKS = `${ROOT}dist/spec/fixtures/tasks.js`;
const DEMO_TASKS = `${ROOT}dist/lib/demo/tasks.js`;
type Tasks = typeof import('../fixtures/tasks.js');
const USER = 'slowlane-app';
const PASSWORD = 'acl-pw-6d1c-s3cret';

const startHost = (url: string, queue: string, extra: readonly string[] = [], env?: NodeJS.ProcessEnv): Promise<StartedProcess> =>
  startUntil(BIN_SERVER, ['worker', '--redis', url, '--queue', queue, '--tasks', TASKS, '--pool-size', '1', '--niceness', '0', ...extra], /taking jobs from queue "[^"]+" on (\S+)/, env === undefined ? {} : { env });

/** Runs openssl; throws with what it said if it fails. */
function openssl(args: readonly string[]): void {
  const made = spawnSync('openssl', args, { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`openssl ${args[0]} failed: ${made.stderr}`);
}

/** A private CA and a certificate it signed for 127.0.0.1, in `dir`: what a managed Redis with its own CA looks like. */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const at = (name: string): string => join(dir, name);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=slowlane test CA', '-keyout', at('ca.key'), '-out', at('ca.pem')]);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', at('redis.key'), '-out', at('redis.csr')]);
  writeFileSync(at('san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  openssl(['x509', '-req', '-in', at('redis.csr'), '-CA', at('ca.pem'), '-CAkey', at('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', at('san.cnf'), '-out', at('redis.pem')]);
  return { ca: at('ca.pem'), cert: at('redis.pem'), key: at('redis.key') };
}

describe('slowlane/queue: Redis as production runs it', function () {
  this.timeout(60_000);

  describe('an ACL user (redis://user:password@host), the default user off', () => {
    let redis: RedisServer;
    before(async () => (redis = await startRedis(undefined, ['--user', 'default', 'off', '--user', USER, 'on', `>${PASSWORD}`, '~*', '&*', '+@all'])));
    after(async () => redis?.stop());

    it('a worker host and a QueueRunner get in as that user; no line of the host shows the password', async () => {
      const url = `redis://${USER}:${PASSWORD}@127.0.0.1:${redis.port}`;
      const host = await startHost(url, 'acl');
      const runner = new QueueRunner<Tasks>({ connection: parseRedisUrl(url), queue: 'acl', deadlineMs: 10_000 });
      try {
        expect(host.ready[1]).to.equal(`redis://${USER}:***@127.0.0.1:${redis.port}`);
        expect(await runner.run('add', [40, 2])).to.equal(42);
        expect(host.stderr()).to.match(/^ok add /m);
        expect(host.stderr() + host.ready.input).to.not.include(PASSWORD);
      } finally {
        await runner.close();
        await host.stop();
      }
    });

    it('the demo server with --queue-redis as that user: /slow_pool works; /stats, /metrics and its log never show the password', async () => {
      const url = `redis://${USER}:${PASSWORD}@127.0.0.1:${redis.port}`;
      const host = await startUntil(BIN_SERVER, ['worker', '--redis', url, '--queue', 'acl-demo', '--tasks', DEMO_TASKS, '--pool-size', '1', '--niceness', '0'], /taking jobs/);
      const server = await startServerProcess(['--queue-redis', url, '--queue', 'acl-demo']);
      try {
        const slow = await request(`${server.url}/slow_pool?id=1&n=50`);
        expect(slow.status).to.equal(200);
        const [stats, metrics] = await Promise.all([request(`${server.url}/stats`), request(`${server.url}/metrics`)]);
        expect(stats.status).to.equal(200);
        expect(metrics.status).to.equal(200);
        for (const text of [stats.body, metrics.body, server.stderr(), host.stderr()]) expect(text).to.not.include(PASSWORD);
      } finally {
        await server.stop();
        await host.stop();
      }
    });

    it('a wrong password: the worker host, a QueueRunner and the demo server each say the password was refused, not "unreachable", and never print it', async () => {
      const wrong = 'wrong-acl-pw-41';
      const url = `redis://${USER}:${wrong}@127.0.0.1:${redis.port}`;
      const refused = /refused the password \(WRONGPASS/;

      const hostStart = await startHost(url, 'acl').then(() => 'started', (error: Error) => error.message);
      expect(hostStart).to.match(new RegExp(`slowlane worker: Redis at redis://${USER}:\\*\\*\\*@127\\.0\\.0\\.1:${redis.port} refused the password \\(WRONGPASS`));
      expect(hostStart.slice(hostStart.indexOf('before it was ready'))).to.not.include(wrong);

      const runner = new QueueRunner<Tasks>({ connection: parseRedisUrl(url), queue: 'acl', deadlineMs: 5000 });
      const server = await startServerProcess(['--queue-redis', url, '--queue', 'acl']);
      try {
        const error = await runner.run('add', [1, 1]).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(QueueUnavailableError);
        expect((error as Error).message).to.match(refused).and.not.match(/unreachable/).and.not.include(wrong);
        const answer = await request(`${server.url}/slow_pool?id=1&n=50`);
        expect(answer.status).to.equal(503);
        expect(answer.body).to.match(refused).and.not.match(/unreachable/).and.not.include(wrong);
        const stats = await request(`${server.url}/stats`);
        expect(stats.body + server.stderr()).to.not.include(wrong);
      } finally {
        await server.stop(3000);
        // Its BullMQ clients retry the password before they close: let the user in with it for the moment it takes.
        const admin = new Redis({ host: '127.0.0.1', port: redis.port, username: USER, password: PASSWORD });
        await admin.acl('SETUSER', USER, `>${wrong}`);
        await runner.close();
        await admin.acl('SETUSER', USER, `<${wrong}`);
        admin.disconnect();
      }
    });
  });

  describe('TLS with a private CA and an ACL user (rediss://user:password@host)', () => {
    let redis: RedisServer | undefined;
    let dir: string;
    let tlsPort: number;
    let ca: string;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'slowlane-tls-ca-'));
      const made = makeCertificates(dir);
      ca = made.ca;
      tlsPort = await freePort();
      redis = await startRedis(undefined, ['--tls-port', String(tlsPort), '--tls-cert-file', made.cert, '--tls-key-file', made.key, '--tls-ca-cert-file', made.ca, '--tls-auth-clients', 'no',
        '--user', 'default', 'off', '--user', USER, 'on', `>${PASSWORD}`, '~*', '&*', '+@all']);
    });
    after(async () => {
      await redis?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('a worker host, a QueueRunner (the CA in its options) and the demo server (the CA from NODE_EXTRA_CA_CERTS) work over TLS; /stats, /metrics and their lines never show the password', async () => {
      const url = `rediss://${USER}:${PASSWORD}@127.0.0.1:${tlsPort}`;
      const env = { ...process.env, NODE_EXTRA_CA_CERTS: ca };
      const host = await startHost(url, 'tls-acl', ['--tasks', DEMO_TASKS], env);
      const connection = parseRedisUrl(url);
      const runner = new QueueRunner<{ heavyLifting: (n: number) => number }>({ connection: { ...connection, tls: { ...('tls' in connection ? connection.tls : {}), ca: readFileSync(ca) } }, queue: 'tls-acl', deadlineMs: 10_000 });
      const server = await startServerProcess(['--queue-redis', url, '--queue', 'tls-acl'], { env });
      try {
        expect(host.ready[1]).to.equal(`rediss://${USER}:***@127.0.0.1:${tlsPort}`);
        expect(await runner.run('heavyLifting', [10])).to.be.a('number');
        const slow = await request(`${server.url}/slow_pool?id=7&n=10`);
        expect(slow.status).to.equal(200);
        // The queue's depth is read every 2 s over its own TLS connection: the gauge appears once the first reading is in.
        let metrics = await request(`${server.url}/metrics`);
        for (let tries = 0; tries < 50 && !metrics.body.includes('slowlane_queue_backlog{queue="tls-acl"}'); tries += 1) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          metrics = await request(`${server.url}/metrics`);
        }
        expect(metrics.body).to.match(/^slowlane_queue_backlog\{queue="tls-acl"\} \d+$/m);
        const stats = await request(`${server.url}/stats`);
        expect(JSON.parse(stats.body)).to.have.nested.property('queue.queue', 'tls-acl');
        for (const text of [stats.body, metrics.body, server.stderr(), host.stderr()]) expect(text).to.not.include(PASSWORD);
      } finally {
        await runner.close();
        await server.stop();
        await host.stop();
      }
    });
  });

  describe('a primary found through Sentinel (redis+sentinel://)', () => {
    let primary: RedisServer;
    let sentinel: RedisServer;
    before(async () => {
      primary = await startRedis(undefined, ['--requirepass', PASSWORD]);
      sentinel = await startSentinel(primary.port, 'slowlane-primary', PASSWORD);
    });
    after(async () => {
      await sentinel?.stop();
      await primary?.stop();
    });

    it('a worker host and a QueueRunner find the primary through the sentinel; the label hides the password', async () => {
      const url = `redis+sentinel://:${PASSWORD}@127.0.0.1:${sentinel.port}/slowlane-primary`;
      const host = await startHost(url, 'sentinel');
      const runner = new QueueRunner<Tasks>({ connection: parseRedisUrl(url), queue: 'sentinel', deadlineMs: 10_000 });
      const direct = new Redis({ host: '127.0.0.1', port: primary.port, password: PASSWORD });
      try {
        expect(host.ready[1]).to.equal(`redis+sentinel://:***@127.0.0.1:${sentinel.port}/slowlane-primary`);
        expect(await runner.run('add', [2, 3])).to.equal(5);
        // The jobs went to the primary the sentinel names.
        expect(await direct.exists('bull:sentinel:meta')).to.equal(1);
        expect(host.stderr()).to.not.include(PASSWORD);
      } finally {
        direct.disconnect();
        await runner.close();
        await host.stop();
      }
    });
  });

  describe('a key prefix (a Cluster\'s hash tag)', () => {
    let redis: RedisServer;
    before(async () => (redis = await startRedis()));
    after(async () => redis?.stop());

    it('the runner and the host with prefix {slowlane} keep every queue key under it', async () => {
      const url = `redis://127.0.0.1:${redis.port}`;
      const host = await startHost(url, 'tagged', ['--prefix', '{slowlane}']);
      const runner = new QueueRunner<Tasks>({ connection: parseRedisUrl(url), queue: 'tagged', prefix: '{slowlane}', deadlineMs: 10_000 });
      const direct = new Redis({ host: '127.0.0.1', port: redis.port });
      try {
        expect(await runner.run('add', [1, 2])).to.equal(3);
        const keys = await direct.keys('*tagged*');
        expect(keys).to.not.be.empty;
        expect(keys.filter((key) => !key.startsWith('{slowlane}:tagged:') && !key.startsWith('slowlane:tagged:')), 'every BullMQ key under the prefix').to.deep.equal([]);
      } finally {
        direct.disconnect();
        await runner.close();
        await host.stop();
      }
    });
  });
});
