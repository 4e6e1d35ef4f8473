// slowlane/fastify against a real Fastify 5 and real children: results go
// through Fastify's reply (schemas, hooks), failures through its error
// handling with failureResponse's statuses, and a client that leaves kills
// its child.
import { expect } from 'chai';
import Fastify, { type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import sinon from 'sinon';
import slowlane from '../../lib/fastify/index.js';
import { LoopPressure } from '../../lib/http/loop-pressure.js';
import { ChildPool } from '../../lib/pool/child-pool.js';
import { eventually, isAlive } from '../../tools/proc.js';
import { request } from '../support/http.js';

const TASKS = new URL('../fixtures/tasks.js', import.meta.url);
const STREAM_TASKS = new URL('../fixtures/stream-tasks.js', import.meta.url);

describe('slowlane/fastify, real Fastify and children', function () {
  this.timeout(30_000);
  let pool: ChildPool;
  let streams: ChildPool;
  let tiny: ChildPool;
  let app: FastifyInstance;
  let base: string;
  const seenByErrorHandler: { status: unknown; cause: unknown }[] = [];

  before(async () => {
    pool = new ChildPool({ tasks: TASKS, minChildren: 1, maxChildren: 2, maxQueue: 0, timeoutMs: 5000 });
    streams = new ChildPool({ tasks: STREAM_TASKS, maxChildren: 1 });
    // One child and no queue: one run fills it, so the next is refused.
    tiny = new ChildPool({ tasks: TASKS, minChildren: 1, maxChildren: 1, spares: 0, maxQueue: 0 });
    app = Fastify();
    // A hook the hijack() route of the issue skipped: it must see offloaded answers.
    app.addHook('onSend', async (_request, reply, payload) => {
      reply.header('x-on-send', 'yes');
      return payload;
    });
    await app.register(async (scope) => {
      await scope.register(slowlane, { pools: { default: pool, streams, tiny } });
      scope.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
        seenByErrorHandler.push({ status: error.statusCode, cause: error.cause });
        return reply.send(error);
      });
      scope.get('/add', {
        schema: {
          querystring: { type: 'object', required: ['a', 'b'], properties: { a: { type: 'integer' }, b: { type: 'integer' } } },
          response: { 200: { type: 'object', properties: { sum: { type: 'integer' } } } },
        },
      }, async (req, reply) => {
        const { a, b } = req.query as { a: number; b: number };
        // The serializer shapes what the task returned: a number becomes { sum } here.
        return reply.offload('echo', [{ sum: a + b, secret: 'dropped by the response schema' }]);
      });
      scope.get('/fail', async (_req, reply) => reply.offload('fail', ['no such file /srv/app/data.json']));
      scope.get('/spin', async (_req, reply) => reply.offload('spinForever', [], { timeoutMs: 300 }));
      scope.get('/whoami-then-spin', async (_req, reply) => reply.offload('spinForever', []));
      scope.get('/count', async (_req, reply) => reply.offload('count', [5], { pool: 'streams', stream: true }));
      scope.get('/letters', async (_req, reply) => reply.offload('letters', ['abc'], { pool: 'streams', stream: true, contentType: 'text/x-letters' }));
      scope.get('/tiny-spin', async (_req, reply) => reply.offload('spinForever', [], { pool: 'tiny' }));
      scope.get('/tiny-add', async (_req, reply) => reply.offload('add', [1, 1], { pool: 'tiny' }));
      scope.get('/nopool', async (_req, reply) => reply.offload('add', [1, 2], { pool: 'nope' as 'default' }));
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await app.close();
    await pool.destroy();
    await streams.destroy();
    await tiny.destroy();
  });

  it('a result goes through the route\'s response schema and onSend hooks', async () => {
    const answer = await request(`${base}/add?a=2&b=3`);
    expect(answer.status).to.equal(200);
    expect(JSON.parse(answer.body)).to.deep.equal({ sum: 5 });
    expect(answer.headers['x-on-send']).to.equal('yes');
  });

  it('bad input is Fastify\'s own 400 (schema validation); the task never runs', async () => {
    const before = pool.stats().completed + pool.stats().failed;
    const answer = await request(`${base}/add?a=x&b=3`);
    expect(answer.status).to.equal(400);
    expect(pool.stats().completed + pool.stats().failed).to.equal(before);
  });

  it('a throwing task is a 500 through the error handler, its message one line without paths, its error the cause', async () => {
    seenByErrorHandler.length = 0;
    const answer = await request(`${base}/fail`);
    expect(answer.status).to.equal(500);
    const body = JSON.parse(answer.body) as { message: string; statusCode: number };
    expect(body.statusCode).to.equal(500);
    expect(body.message).to.equal('task "fail" failed: RangeError: no such file <path>');
    expect(answer.body).to.not.match(/\/srv\/|at .*\.js/);
    expect(seenByErrorHandler).to.have.length(1);
    expect(seenByErrorHandler[0]!.status).to.equal(500);
    expect((seenByErrorHandler[0]!.cause as Error & { code: string }).code).to.equal('E_FIXTURE');
    expect((seenByErrorHandler[0]!.cause as Error).message).to.equal('no such file /srv/app/data.json');
  });

  it('a timeout is a 504, the child killed', async () => {
    const answer = await request(`${base}/spin`);
    expect(answer.status).to.equal(504);
    expect(JSON.parse(answer.body)).to.include({ statusCode: 504, code: 'ERR_TASK_TIMEOUT', message: 'task "spinForever" timed out after 300 ms; its child process was killed' });
  });

  it('a full queue is a 503 with Retry-After', async () => {
    const controller = new AbortController();
    const busy = request(`${base}/tiny-spin`, { signal: controller.signal }).catch(() => undefined);
    expect(await eventually(() => tiny.stats().running === 1, 10_000), 'the one child is busy').to.equal(true);
    const refused = await request(`${base}/tiny-add`);
    expect(refused.status).to.equal(503);
    expect(refused.headers['retry-after']).to.equal('1');
    controller.abort();
    await busy;
    expect(await eventually(() => tiny.stats().running === 0, 10_000), 'the run was cancelled').to.equal(true);
  });

  it('a client that leaves kills its child, and the server keeps serving', async () => {
    const controller = new AbortController();
    const leaving = request(`${base}/whoami-then-spin`, { signal: controller.signal }).catch((e: unknown) => e);
    expect(await eventually(() => pool.stats().running === 1, 10_000), 'the task runs').to.equal(true);
    const [busy] = pool.children().filter((child) => child.state === 'busy');
    expect(busy, 'a child runs the task').to.not.equal(undefined);
    controller.abort();
    expect(((await leaving) as Error).name).to.equal('AbortError');
    expect(await eventually(() => !isAlive(busy!.pid!), 10_000), 'the spinning child was killed').to.equal(true);
    expect((await request(`${base}/add?a=1&b=2`)).body).to.equal('{"sum":3}');
  });

  it('stream: true streams a generator task as NDJSON (or the contentType given)', async () => {
    const count = await request(`${base}/count`);
    expect(count.status).to.equal(200);
    expect(count.headers['content-type']).to.equal('application/x-ndjson');
    expect(count.body).to.equal('0\n1\n2\n3\n4\n');
    const letters = await request(`${base}/letters`);
    expect(letters.headers['content-type']).to.equal('text/x-letters');
    expect(letters.body).to.equal('abc');
  });

  it('an unknown pool name is a 500 naming the registered pools in the log, not to the client', async () => {
    const answer = await request(`${base}/nopool`);
    expect(answer.status).to.equal(500);
    expect(answer.body).to.not.include('streams');
  });

  it('each run gets the call\'s timeout and deadline, the plugin\'s queue bound, the request as its label and the client-gone signal', async () => {
    const run = sinon.stub().resolves('ok');
    const other = Fastify();
    await other.register(slowlane, { pool: { run }, maxQueue: 9 });
    other.get('/r', async (_req, reply) => reply.offload('add', [1, 2], { timeoutMs: 700, deadlineMs: 1500 }));
    try {
      expect((await other.inject('/r?id=3')).body).to.equal('ok');
      const [task, args, options] = run.firstCall.args;
      expect([task, args]).to.deep.equal(['add', [1, 2]]);
      expect(options).to.include({ timeoutMs: 700, deadlineMs: 1500, maxQueue: 9, label: 'GET /r?id=3' });
      expect(options.signal).to.be.instanceOf(AbortSignal);
    } finally {
      await other.close();
    }
  });

  it('closing Fastify leaves the pools it was given running', async () => {
    const other = Fastify();
    await other.register(slowlane, { pool });
    other.get('/', async (_req, reply) => reply.offload('add', [2, 2]));
    expect((await other.inject('/')).body).to.equal('4');
    await other.close();
    expect(await pool.run('add', [1, 1])).to.equal(2);
  });

  it('maxLoopDelayMs / loopPressure: while the loop is late, 503 with Retry-After and no run', async () => {
    const pressure = new LoopPressure(50);
    const other = Fastify();
    await other.register(slowlane, { pool, loopPressure: pressure });
    other.get('/', async (_req, reply) => reply.offload('add', [2, 2]));
    try {
      const started = pool.stats().completed;
      const end = Date.now() + 300;
      while (Date.now() < end); // the loop is stuck for 300 ms
      const shed = await other.inject('/');
      expect(shed.statusCode).to.equal(503);
      expect(shed.headers['retry-after']).to.equal('1');
      expect(JSON.parse(shed.body).message).to.match(/^server overloaded: its event loop is \d+ ms late \(limit 50 ms\); retry in a second$/);
      expect(pool.stats().completed).to.equal(started);
    } finally {
      pressure.stop();
      await other.close();
    }
  });

  it('registration without a pool fails with a line that says what to pass', async () => {
    const other = Fastify();
    const error = await other.register(slowlane, {} as never).then(() => undefined, (e: unknown) => e);
    expect((error as Error).message).to.equal('slowlane/fastify: register it with { pool } or { pools: { name: pool } }');
    await other.close();
  });
});
