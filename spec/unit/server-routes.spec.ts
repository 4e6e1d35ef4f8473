import { expect } from 'chai';
import http from 'node:http';
import sinon from 'sinon';
import { createServer, type DemoPool, type SlowlaneServer } from '../../lib/demo/server.js';
import type { PoolStats } from '../../lib/pool/child-pool.js';
import { PoolClosedError, QueueFullError, TaskCrashedError, TaskError, TaskLoadError, TaskTimeoutError } from '../../lib/pool/errors.js';
import { request } from '../support/http.js';

const idle: PoolStats = { running: 0, queued: 0, completed: 0, failed: 0, crashed: 0, timedOut: 0, expired: 0, aborted: 0, rejected: 0, children: 0, idle: 0, spares: 0, started: 0, recycled: 0, shrunk: 0, memoryKilled: 0, startsDeferred: 0, spawnersStarted: 0 };

function fakePool(): DemoPool & { run: sinon.SinonStub } {
  const none = { count: 0, p50: 0, p99: 0, max: 0, sum: 0 };
  return { run: sinon.stub().resolves(0.5), stats: () => idle, latency: () => ({ queueWaitMs: none, runMs: none }), children: () => [] } as unknown as DemoPool & { run: sinon.SinonStub };
}

describe('demo server routes (faked pools)', () => {
  let server: SlowlaneServer;
  let base: string;
  let fork: ReturnType<typeof fakePool>;
  let pool: ReturnType<typeof fakePool>;
  let log: sinon.SinonSpy;
  let inlineWork: sinon.SinonStub;

  beforeEach(async () => {
    fork = fakePool();
    pool = fakePool();
    log = sinon.spy();
    inlineWork = sinon.stub().returns(1.23456);
    server = createServer({ pools: { perRequest: fork, warm: pool }, accessLog: log, inlineWork });
    const { port } = await server.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${port}`;
  });
  afterEach(() => server.close());

  it('GET /fast?id=X answers "fast result X" as UTF-8 plain text', async () => {
    const answer = await request(`${base}/fast?id=7`);
    expect(answer.status).to.equal(200);
    expect(answer.body).to.equal('fast result 7\n');
    expect(answer.headers['content-type']).to.equal('text/plain; charset=utf-8');
  });

  it('GET /slow runs the work inline with the default n and reports seconds to three decimals', async () => {
    const answer = await request(`${base}/slow?id=2`);
    expect(answer.body).to.equal('slow result 2 <--- 1.235 s\n');
    expect(inlineWork.calledOnceWith(2000)).to.equal(true);
  });

  it('GET /slow_threaded and /slow_pool run heavyLifting(n) through their own pool', async () => {
    expect((await request(`${base}/slow_threaded?id=a&n=10`)).body).to.equal('slow result a <--- 0.500 s\n');
    expect(fork.run.calledOnce).to.equal(true);
    expect(fork.run.firstCall.args.slice(0, 2)).to.deep.equal(['heavyLifting', [10]]);
    expect(fork.run.firstCall.args[2].signal).to.be.instanceOf(AbortSignal);
    expect((await request(`${base}/slow_pool?id=b`)).body).to.equal('slow result b <--- 0.500 s\n');
    expect(pool.run.firstCall.args.slice(0, 2)).to.deep.equal(['heavyLifting', [2000]]);
  });

  it('HEAD is answered like GET without a body', async () => {
    const answer = await request(`${base}/fast?id=1`, { method: 'HEAD' });
    expect(answer.status).to.equal(200);
    expect(answer.body).to.equal('');
    expect(answer.headers['content-length']).to.equal(String('fast result 1\n'.length));
  });

  const badInput: [string, number, string][] = [
    ['/fast', 400, 'missing argument: id'],
    ['/fast?id=', 400, 'missing argument: id'],
    ['/slow_pool?n=5', 400, 'missing argument: id'],
    [`/fast?id=${'x'.repeat(257)}`, 400, 'argument id is too long: at most 256 characters'],
    ['/slow_pool?id=1&n=abc', 400, 'argument n must be a whole number from 0 to 20000'],
    ['/slow_threaded?id=1&n=-1', 400, 'argument n must be a whole number from 0 to 20000'],
    ['/slow?id=1&n=1.5', 400, 'argument n must be a whole number from 0 to 5000 on /slow, which blocks the server; /slow_threaded and /slow_pool take up to 20000'],
    ['/slow?id=1&n=5001', 400, 'argument n must be a whole number from 0 to 5000 on /slow, which blocks the server; /slow_threaded and /slow_pool take up to 20000'],
    ['/slow?id=1&n=', 400, 'argument n must be a whole number from 0 to 5000 on /slow, which blocks the server; /slow_threaded and /slow_pool take up to 20000'],
    ['/slow_pool?id=1&n=20001', 400, 'argument n must be a whole number from 0 to 20000'],
    ['/nope', 404, 'not found: /nope; the routes are /fast, /slow, /slow_threaded, /slow_pool, /report, /report_pool, /export, /stats, /metrics'],
  ];
  for (const [path, status, message] of badInput) {
    it(`GET ${path.slice(0, 40)} -> ${status} ${message.slice(0, 40)}`, async () => {
      const answer = await request(`${base}${path}`);
      expect(answer.status).to.equal(status);
      expect(answer.body).to.equal(`${message}\n`);
    });
  }

  it('the id may be exactly 256 characters', async () => {
    expect((await request(`${base}/fast?id=${'x'.repeat(256)}`)).status).to.equal(200);
  });

  it('bad input never reaches a pool', async () => {
    await request(`${base}/slow_pool?id=1&n=99999`);
    await request(`${base}/slow_threaded`);
    expect(fork.run.called || pool.run.called || inlineWork.called).to.equal(false);
  });

  it('any method but GET and HEAD gets 405 with an Allow header', async () => {
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const answer = await request(`${base}/fast?id=1`, { method });
      expect(answer.status).to.equal(405);
      expect(answer.headers.allow).to.equal('GET, HEAD');
      expect(answer.body).to.equal(`method ${method} not allowed; use GET or HEAD\n`);
    }
  });

  const failures: [string, Error, number, RegExp][] = [
    ['TaskError', new TaskError('heavyLifting', { name: 'TypeError', message: 'bad\nthing', stack: 'TypeError: bad\n    at secret.js:1', props: {} }), 500, /^task "heavyLifting" failed: TypeError: bad thing\n$/],
    ['TaskCrashedError', new TaskCrashedError('heavyLifting', 42, null, 'SIGKILL'), 500, /^task "heavyLifting" crashed: its child process was killed by SIGKILL before answering\n$/],
    ['TaskLoadError', new TaskLoadError('file:///t.js', 'SyntaxError: x'), 500, /^the server cannot load its tasks module; see its log\n$/],
    ['TaskTimeoutError', new TaskTimeoutError('heavyLifting', 30000), 504, /^task "heavyLifting" timed out after 30000 ms/],
    ['QueueFullError', new QueueFullError('heavyLifting', 100), 503, /^server busy: too many slow requests are waiting; retry in a second\n$/],
    ['PoolClosedError', new PoolClosedError(), 503, /^server is shutting down/],
    ['an unexpected error', new Error('secret internals'), 500, /^internal server error\n$/],
  ];
  for (const [name, error, status, body] of failures) {
    it(`a run failing with ${name} -> ${status}, one line, no stack`, async () => {
      pool.run.rejects(error);
      const answer = await request(`${base}/slow_pool?id=1`);
      expect(answer.status).to.equal(status);
      expect(answer.body).to.match(body);
      expect(answer.body.trimEnd().split('\n')).to.have.length(1);
      expect(answer.body).not.to.match(/\bat .*:\d+/);
    });
  }

  it('503 for a full queue says when to retry', async () => {
    fork.run.rejects(new QueueFullError('heavyLifting', 1));
    expect((await request(`${base}/slow_threaded?id=1`)).headers['retry-after']).to.equal('1');
  });

  it('writes one Tornado-style access-log line per request', async () => {
    await request(`${base}/fast?id=1`);
    await request(`${base}/nope`);
    await new Promise((resolve) => setImmediate(resolve));
    expect(log.callCount).to.equal(2);
    expect(log.firstCall.args[0]).to.match(/^200 GET \/fast\?id=1 \(127\.0\.0\.1\) \d+\.\d\dms$/);
    expect(log.secondCall.args[0]).to.match(/^404 GET \/nope \(127\.0\.0\.1\) \d+\.\d\dms$/);
  });

  it('a client that leaves aborts its run, and the request is logged as 499', async () => {
    let signal: AbortSignal | undefined;
    pool.run.callsFake((_task: string, _args: unknown[], options: { signal: AbortSignal }) => {
      signal = options.signal;
      return new Promise((_resolve, reject) => signal!.addEventListener('abort', () => reject(signal!.reason)));
    });
    const controller = new AbortController();
    const pending = request(`${base}/slow_pool?id=1`, { signal: controller.signal }).catch((e: unknown) => e);
    while (signal === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(signal.aborted).to.equal(false);
    controller.abort();
    await pending;
    while (!signal.aborted || log.callCount === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(log.lastCall.args[0]).to.match(/^499 GET \/slow_pool\?id=1 \(127\.0\.0\.1\) /);
  });

  it('behind a trusted proxy, an X-Forwarded-For that is not an IP address is ignored: the log names the peer', async () => {
    const proxied = createServer({ pools: { perRequest: fork, warm: pool }, accessLog: log, inlineWork, trustProxy: ['127.0.0.1'] });
    const { port } = await proxied.listen(0, '127.0.0.1');
    try {
      const send = (xff: string) => new Promise<void>((resolve, reject) => {
        http.get(`http://127.0.0.1:${port}/fast?id=1`, { headers: { 'x-forwarded-for': xff }, agent: false }, (res) => res.resume().on('end', resolve)).on('error', reject);
      });
      await send('not-an-ip) 0.01ms FAKE 200 GET /admin (9.9.9.9');
      await send('10.0.0.1, 203.0.113.7');
      expect(log.firstCall.args[0]).to.match(/^200 GET \/fast\?id=1 \(127\.0\.0\.1\) \d+\.\d\dms$/);
      expect(log.secondCall.args[0]).to.match(/^200 GET \/fast\?id=1 \(203\.0\.113\.7\) /);
    } finally {
      await proxied.close();
    }
  });

  it('GET /stats reports requests by status, pools and event-loop delay as JSON', async () => {
    await request(`${base}/fast?id=1`);
    await request(`${base}/fast`);
    const answer = await request(`${base}/stats`);
    expect(answer.headers['content-type']).to.equal('application/json; charset=utf-8');
    const stats = JSON.parse(answer.body);
    expect(stats.requests).to.deep.equal({ 200: 1, 400: 1 });
    expect(stats.pools).to.deep.equal({ perRequest: idle, warm: idle });
    expect(stats.eventLoopDelayMs).to.have.all.keys('p50', 'p99', 'max');
    expect(stats.uptimeSeconds).to.be.a('number');
  });
});
