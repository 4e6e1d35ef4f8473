// slowlane/fastify at its edges, on real Fastify and real children: a HEAD on
// a stream route, the plugin registered twice, reply.offload() on a reply
// that was already sent.
import { expect } from 'chai';
import Fastify, { type FastifyInstance } from 'fastify';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import slowlane from '../../lib/fastify/index.js';
import { ChildPool } from '../../lib/pool/child-pool.js';
import type { PoolStats } from '../../lib/pool/schedule/stats.js';
import { eventually } from '../../tools/proc.js';
import { request } from '../support/http.js';

const TASKS = new URL('../fixtures/tasks.js', import.meta.url);
const STREAM_TASKS = new URL('../fixtures/stream-tasks.js', import.meta.url);
const WINDOW = 4;

/** Every run the pool has been given, whatever became of it. */
const runsSeen = (s: PoolStats): number => s.running + s.queued + s.completed + s.failed + s.crashed + s.timedOut + s.expired + s.aborted + s.rejected;

describe('slowlane/fastify edges, real Fastify and children', function () {
  this.timeout(30_000);
  let pool: ChildPool;
  let streams: ChildPool;
  let app: FastifyInstance;
  let base: string;
  let dir: string;
  const logs: string[] = [];
  let handled: Promise<void> | undefined;
  const diary = (): string[] => {
    try {
      return readFileSync(join(dir, 'diary'), 'utf8').trim().split('\n');
    } catch {
      return [];
    }
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'slowlane-fastify-edges-'));
    pool = new ChildPool({ tasks: TASKS, minChildren: 1, maxChildren: 1 });
    // One child, so a run left producing would keep the next one waiting.
    streams = new ChildPool({ tasks: STREAM_TASKS, minChildren: 1, maxChildren: 1, spares: 0, streamWindow: WINDOW });
    app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => void logs.push(line) } } });
    await app.register(slowlane, { pools: { default: pool, streams } });
    app.get('/endless', async (_req, reply) => reply.offload('endless', [join(dir, 'diary')], { pool: 'streams', stream: true }));
    app.get('/count', async (_req, reply) => reply.offload('count', [3], { pool: 'streams', stream: true }));
    app.get('/fails-after', async (_req, reply) => reply.offload('failsAfter', [2], { pool: 'streams', stream: true }));
    app.get('/sent-first', async (_req, reply) => {
      reply.send('answered by the handler\n');
      handled = reply.offload('add', [1, 2]);
      return handled;
    });
    app.get('/sent-meanwhile', async (_req, reply) => {
      handled = reply.offload('sleep', [200]);
      reply.send('answered while the task ran\n');
      return handled;
    });
    await Promise.all([app.listen({ port: 0, host: '127.0.0.1' }), pool.ready(), streams.ready()]);
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await app.close();
    await pool.destroy();
    await streams.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    logs.length = 0;
    handled = undefined;
  });

  it('HEAD on a stream route: 200 with its headers and no body, the generator closed after its first values, the child free', async () => {
    const answer = await request(`${base}/endless`, { method: 'HEAD' });
    expect(answer.status).to.equal(200);
    expect(answer.headers['content-type']).to.equal('application/x-ndjson');
    expect(answer.body).to.equal('');
    expect(await eventually(() => diary().includes('closed'), 5000), `the generator was closed; its diary: ${diary().length} lines`).to.equal(true);
    const produced = diary().filter((line) => line.startsWith('produced')).length;
    // The first value, a window of credit, and one being produced when it ran out.
    expect(produced, `values produced for a HEAD: ${produced}`).to.be.at.most(1 + WINDOW + 1);
    expect(await eventually(() => streams.stats().running === 0, 5000), 'the child is free').to.equal(true);
    const next = await request(`${base}/count`);
    expect([next.status, next.body]).to.deep.equal([200, '0\n1\n2\n']);
  });

  it('a stream that fails after its first value: the response is cut short and the failure logged at error level, with the request', async () => {
    const answer = await request(`${base}/fails-after`).catch((e: unknown) => e);
    expect((answer as { body?: string }).body, 'no complete body arrives').to.equal(undefined);
    const ours = (): Record<string, unknown>[] => logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry['task'] === 'failsAfter');
    expect(await eventually(() => ours().length > 0, 5000), `our log line; all lines: ${logs.join('')}`).to.equal(true);
    const [entry] = ours();
    expect(entry).to.include({ level: 50, msg: 'reply.offload("failsAfter") failed after its first value; the response was cut short' });
    expect(entry!['reqId'], 'the request it was').to.be.a('string');
    expect((entry!['err'] as { message?: string }).message).to.match(/gave up after 2/);
    const next = await request(`${base}/count`);
    expect([next.status, next.body], 'the pool serves on').to.deep.equal([200, '0\n1\n2\n']);
  });

  it('reply.offload() after reply.send() starts no run and sends nothing twice', async () => {
    const before = runsSeen(pool.stats());
    const answer = await request(`${base}/sent-first`);
    expect([answer.status, answer.body]).to.deep.equal([200, 'answered by the handler\n']);
    expect(handled, 'the route called reply.offload').to.not.equal(undefined);
    await handled;
    expect(runsSeen(pool.stats()), 'runs given to the pool').to.equal(before);
    expect(logs.filter((line) => /already sent/i.test(line)), 'Fastify\'s "already sent" warnings').to.deep.equal([]);
    expect(logs.filter((line) => line.includes('reply.offload(\\"add\\") was called after the reply was sent')), 'our one warning').to.have.length(1);
  });

  it('a reply sent while its run was going is not sent again when the run ends', async () => {
    const answer = await request(`${base}/sent-meanwhile`);
    expect([answer.status, answer.body]).to.deep.equal([200, 'answered while the task ran\n']);
    await handled;
    expect(logs.filter((line) => /already sent/i.test(line)), 'Fastify\'s "already sent" warnings').to.deep.equal([]);
    expect((await request(`${base}/sent-first`)).status, 'the server serves on').to.equal(200);
  });

  it('registering the plugin twice in one scope rejects ready() with one line; the process carries on', async () => {
    const other = Fastify();
    void other.register(slowlane, { pool });
    void other.register(slowlane, { pool });
    const error = await other.ready().then(() => undefined, (e: unknown) => e);
    expect((error as Error | undefined)?.message).to.equal('slowlane/fastify: registered twice in the same scope (reply.offload exists already); register it once, with { pools: { name: pool } } for several pools');
    await other.close().catch(() => undefined);
    expect(await pool.run('add', [2, 2]), 'the pool serves on').to.equal(4);
  });

  it('a nested scope may still register its own pools over its parent\'s', async () => {
    const other = Fastify();
    await other.register(slowlane, { pool: streams });
    await other.register(async (scope) => {
      await scope.register(slowlane, { pool });
      scope.get('/inner', async (_req, reply) => reply.offload('add', [2, 3]));
    });
    expect((await other.inject('/inner')).body).to.equal('5');
    await other.close();
  });
});
