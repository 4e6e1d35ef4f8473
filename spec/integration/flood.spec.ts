// A server built as the README builds it still sheds a flood with 503 now
// that a ChildPool's own queue is unbounded by default: offload(), the
// Fastify plugin and the demo server each bound their runs' queue (100).
// One child runs a task that does not end; 1 run + 100 waiting are taken,
// the rest of 105 requests are refused; then the clients leave.
import { expect } from 'chai';
import Fastify from 'fastify';
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import slowlane from '../../lib/fastify/index.js';
import { offload } from '../../lib/http/offload.js';
import { startSlowlane } from '../../lib/demo/start.js';
import { ChildPool } from '../../lib/pool/child-pool.js';
import type { PoolStats } from '../../lib/pool/schedule/stats.js';
import { HANGS } from '../fixtures/server-tasks.js';
import { request, type Answer } from '../support/http.js';
import { eventually } from '../../tools/proc.js';

const TASKS = new URL('../fixtures/tasks.js', import.meta.url);
const SERVER_TASKS = new URL('../fixtures/server-tasks.js', import.meta.url);
const REQUESTS = 105;
const REFUSED = REQUESTS - 1 - 100;

/** Sends REQUESTS at once; once every one has reached the pool, returns the answers so far and lets the clients go. */
async function flood(url: string, stats: () => PoolStats): Promise<Answer[]> {
  const leave = new AbortController();
  setMaxListeners(REQUESTS + 10, leave.signal); // one per request
  const answers: Answer[] = [];
  const sent = Array.from({ length: REQUESTS }, () => request(url, { signal: leave.signal }).then((answer) => void answers.push(answer), () => {}));
  const reached = await eventually(() => {
    const s = stats();
    return s.running + s.queued + s.rejected >= REQUESTS && answers.length >= s.rejected;
  }, 30_000);
  const seen = stats();
  leave.abort();
  await Promise.all(sent);
  expect(reached, `every request reached the pool: ${JSON.stringify({ running: seen.running, queued: seen.queued, rejected: seen.rejected })}`).to.equal(true);
  return answers.slice(0, seen.rejected);
}

function expectShed(answers: Answer[], stats: PoolStats): void {
  expect(answers.map((a) => a.status), 'the answers before the clients left').to.deep.equal(new Array(REFUSED).fill(503));
  for (const answer of answers) {
    expect(answer.headers['retry-after']).to.equal('1');
    // Text from offload() and the demo, JSON from Fastify's error handling.
    expect(answer.body).to.include('server busy: too many slow requests are waiting; retry in a second');
  }
  expect(stats, 'one running, 100 waiting, the rest refused').to.include({ running: 1, queued: 100, rejected: REFUSED });
}

describe('a flood against servers with the default queue bounds, real children', function () {
  this.timeout(60_000);

  it('offload() on a ChildPool with the default options answers 503 beyond 100 waiting', async () => {
    const pool = new ChildPool({ tasks: TASKS, maxChildren: 1, niceness: 0 });
    const server = http.createServer(offload(pool, 'sleep', () => [60_000]));
    try {
      await Promise.all([new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)), pool.ready()]);
      let seen: PoolStats | undefined;
      const answers = await flood(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, () => (seen = pool.stats()));
      expectShed(answers, seen!);
    } finally {
      server.close();
      await pool.destroy();
    }
  });

  it('the Fastify plugin with the default options answers 503 beyond 100 waiting', async () => {
    const pool = new ChildPool({ tasks: TASKS, maxChildren: 1, niceness: 0 });
    const app = Fastify();
    try {
      await app.register(slowlane, { pool });
      app.get('/', async (_req, reply) => reply.offload('sleep', [60_000]));
      await Promise.all([app.listen({ port: 0, host: '127.0.0.1' }), pool.ready()]);
      let seen: PoolStats | undefined;
      const answers = await flood(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`, () => (seen = pool.stats()));
      expectShed(answers, seen!);
    } finally {
      await app.close();
      await pool.destroy();
    }
  });

  it('the demo server without --max-queue answers 503 beyond 100 waiting on /slow_pool', async () => {
    const app = await startSlowlane({ port: 0, host: '127.0.0.1', tasks: SERVER_TASKS, poolSize: 1, maxChildren: 1, niceness: 0 });
    try {
      await app.pools.warm.ready();
      let seen: PoolStats | undefined;
      const answers = await flood(`http://127.0.0.1:${app.address.port}/slow_pool?id=1&n=${HANGS}`, () => (seen = app.pools.warm.stats()));
      expectShed(answers, seen!);
    } finally {
      await app.destroy();
    }
  });
});
