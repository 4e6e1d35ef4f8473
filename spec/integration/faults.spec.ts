// The faults and hostile clients of "Nothing lost, nothing left running",
// each met by real processes and real sockets. Numbers follow the points.
import { expect } from 'chai';
import { connect, type Socket } from 'node:net';
import { ChildPool } from '../../lib/pool/child-pool.js';
import { startSlowlane, type RunningSlowlane, type SlowlaneConfig } from '../../lib/demo/start.js';
import { HANGS } from '../fixtures/server-tasks.js';
import { burst, request } from '../support/http.js';
import { cpuTicks, eventually, isAlive, slowlaneChildren } from '../../tools/proc.js';
import { startServerProcess, type ServerProcess } from '../../tools/server-process.js';
import { httpRequest } from '../../lib/client/http-get.js';
import http from 'node:http';
import { PassThrough } from 'node:stream';
import { LOG_BUFFER_BYTES } from '../../lib/demo/log-writer.js';

const SERVER_TASKS = new URL('../fixtures/server-tasks.js', import.meta.url);
const TASKS = new URL('../fixtures/tasks.js', import.meta.url);

/** A raw connection: what it sent is exactly what the test wrote; `received` is all it got back. */
async function rawConnection(base: string): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const { hostname, port } = new URL(base);
  const socket = connect(Number(port), hostname);
  await new Promise((resolve) => socket.once('connect', resolve));
  let received = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, received: () => received, closed };
}

async function waitUntilComputing(pids: readonly number[]): Promise<boolean> {
  const before = pids.map(cpuTicks);
  await new Promise((resolve) => setTimeout(resolve, 300));
  return pids.every((pid, i) => cpuTicks(pid) > before[i]!);
}

describe('faults: the server as a process', function () {
  this.timeout(30_000);
  let server: ServerProcess | undefined;
  afterEach(async () => {
    await server?.stop(2000);
    server = undefined;
  });

  it('1. SIGKILL of the server while children compute: a pool child and a per-request child are gone within a second', async () => {
    server = await startServerProcess(['--pool-size', '1', '--spares', '0', '--timeout', '120', '--quiet']);
    const pending = ['slow_pool', 'slow_threaded'].map((route) => request(`${server!.url}/${route}?id=1&n=20000`).catch(() => undefined));
    let busy: number[] = [];
    await eventually(() => (busy = slowlaneChildren({ parent: server!.pid }).map((c) => c.pid)).length === 2, 5000);
    expect(busy, 'one child per route').to.have.length(2);
    expect(await waitUntilComputing(busy), 'both children are computing').to.equal(true);
    server.child.kill('SIGKILL');
    await server.exited;
    const gone = await eventually(() => busy.every((pid) => !isAlive(pid)), 1000);
    expect(busy.filter(isAlive), 'children alive a second after their server was SIGKILLed').to.deep.equal([]);
    expect(gone).to.equal(true);
    await Promise.all(pending);
  });

  it('2. Ctrl-C (SIGINT to the whole process group) drains like SIGTERM: the request in flight gets its answer, exit 0', async () => {
    server = await startServerProcess(['--pool-size', '1', '--quiet'], { detached: true });
    const answer = request(`${server.url}/slow_pool?id=7&n=2500`);
    await eventually(() => slowlaneChildren({ parent: server!.pid }).some((c) => cpuTicks(c.pid) > 0), 3000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    process.kill(-server.pid, 'SIGINT'); // what a terminal does: the group, not the pid
    const got = await answer;
    expect(got.status, got.body).to.equal(200);
    expect(got.body).to.match(/^slow result 7 <--- \d+\.\d{3} s\n$/);
    expect((await server.exited).code).to.equal(0);
  });

  it('4. SIGTERM with a silent connection and half a request open exits 0 at once, not after --grace', async () => {
    server = await startServerProcess(['--pool-size', '1', '--grace', '60']);
    const silent = await rawConnection(server.url);
    const half = await rawConnection(server.url);
    half.socket.write('GET /fast?id=1 HTTP/1.1\r\nHost: x\r\n'); // the headers never end
    await new Promise((resolve) => setTimeout(resolve, 100));
    server.child.kill('SIGTERM');
    // The test's own 30 s timeout is half the grace: waiting for the grace fails it.
    const exit = await server.exited;
    expect(exit.code).to.equal(0);
    expect(server.stderr()).not.to.match(/cut off|ran out/);
    await Promise.all([silent.closed, half.closed]);
  });

  it('5. a log reader that stalls costs bounded memory: lines beyond the buffer are dropped and counted, answers keep coming', async () => {
    server = await startServerProcess(['--pool-size', '1'], { stderr: 'stall' });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const padding = 'x'.repeat(1500);
    let ok = 0;
    try {
      for (let round = 0; round < 25; round += 1) {
        const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => httpRequest(`${server!.url}/fast?id=${round}-${i}&pad=${padding}`, { agent })));
        ok += answers.filter((a) => a.status === 200).length;
      }
      const stats = JSON.parse((await httpRequest(`${server.url}/stats`, { agent })).body) as { log: { written: number; dropped: number; pending: number; pendingBytes: number } };
      expect(ok, 'every request answered').to.equal(5000);
      expect(stats.log.dropped, 'lines dropped while nobody reads the log').to.be.above(0);
      expect(stats.log.written + stats.log.dropped + stats.log.pending, 'every line accounted for').to.be.at.least(5000);
      expect(stats.log.pendingBytes, 'the buffer stays within its bound').to.be.at.most(LOG_BUFFER_BYTES);
    } finally {
      agent.destroy();
    }
  });
});

describe('faults: the server in process', function () {
  this.timeout(20_000);
  let app: RunningSlowlane | undefined;
  let base: string;
  let lines: string[];
  const start = async (config: Partial<SlowlaneConfig> = {}) => {
    lines = [];
    const logTo = { write: (chunk: string) => (lines.push(...chunk.trimEnd().split('\n')), true), once: () => undefined };
    app = await startSlowlane({ port: 0, host: '127.0.0.1', tasks: SERVER_TASKS, poolSize: 2, maxChildren: 4, logTo, ...config });
    base = `http://127.0.0.1:${app.address.port}`;
    return app;
  };
  afterEach(async () => {
    await app?.destroy();
    app = undefined;
  });

  it('3. two pipelined slow requests, then the client leaves: both runs are cancelled', async () => {
    await start();
    await app!.pools.warm.ready();
    const raw = await rawConnection(base);
    raw.socket.write(`GET /slow_pool?id=1&n=${HANGS} HTTP/1.1\r\nHost: x\r\n\r\nGET /slow_pool?id=2&n=${HANGS} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(await eventually(() => app!.pools.warm.stats().running === 2, 3000), 'both running').to.equal(true);
    raw.socket.destroy();
    expect(await eventually(() => app!.pools.warm.stats().running === 0, 1500), 'both cancelled').to.equal(true);
    expect(app!.pools.warm.stats().aborted).to.equal(2);
    expect(await eventually(() => lines.filter((l) => l.startsWith('499 ')).length === 2, 1000), 'both logged as 499').to.equal(true);
  });

  it('3. a slow request with a large body it never reads, then the client leaves: cancelled', async () => {
    await start();
    await app!.pools.warm.ready();
    const raw = await rawConnection(base);
    raw.socket.write(`GET /slow_pool?id=1&n=${HANGS} HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n`);
    raw.socket.write(Buffer.alloc(1024 * 1024));
    expect(await eventually(() => app!.pools.warm.stats().running === 1, 3000)).to.equal(true);
    raw.socket.destroy();
    expect(await eventually(() => app!.pools.warm.stats().running === 0, 1500), 'cancelled').to.equal(true);
    expect(app!.pools.warm.stats().aborted).to.equal(1);
  });

  it('3. a half-closed client (request sent, write side shut) counts as gone: its run is cancelled, logged 499 with its address', async () => {
    await start();
    await app!.pools.warm.ready();
    const raw = await rawConnection(base);
    raw.socket.end(`GET /slow_pool?id=1&n=${HANGS} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await raw.closed;
    expect(raw.received(), 'no answer').to.equal('');
    expect(await eventually(() => app!.pools.warm.stats().aborted === 1 && app!.pools.warm.stats().running === 0, 1500)).to.equal(true);
    await eventually(() => lines.length > 0, 1000);
    expect(lines.at(-1)).to.match(/^499 GET \/slow_pool\?id=1&n=\d+ \(127\.0\.0\.1\) /);
  });

  it('4. shutdown answers pipelined requests already received behind a slow one', async () => {
    await start();
    await app!.pools.warm.ready();
    const raw = await rawConnection(base);
    raw.socket.write('GET /slow_pool?id=1&n=300 HTTP/1.1\r\nHost: x\r\n\r\nGET /fast?id=behind HTTP/1.1\r\nHost: x\r\n\r\n');
    await eventually(() => app!.pools.warm.stats().running === 1, 2000);
    expect(await app!.shutdown(10_000)).to.deep.equal({ clean: true, lost: 0 });
    await raw.closed;
    expect(raw.received()).to.match(/slow result 1 <--- [\s\S]*fast result behind\n$/);
  });

  it('6. queue time counts against --timeout: requests that cannot start before it get 503, not a late answer', async () => {
    await start({ poolSize: 1, timeoutMs: 800 });
    const answers = await burst([1, 2, 3].map((id) => `${base}/slow_pool?id=${id}&n=${HANGS}`));
    const statuses = answers.map((a) => a.answer.status).sort();
    expect(statuses).to.deep.equal([503, 503, 504]);
    const refused = answers.find((a) => a.answer.status === 503)!.answer;
    expect(refused.body).to.equal('server busy: no child was free before the request\'s deadline; retry in a second\n');
    expect(refused.headers['retry-after']).to.equal('1');
    expect(app!.pools.warm.stats()).to.include({ expired: 2, timedOut: 1 });
  });

  it('8. a crash answers without the pid; the log line has the whole reason', async () => {
    await start();
    const answer = await request(`${base}/slow_pool?id=1&n=19992`);
    expect(answer.body).to.equal('task "heavyLifting" crashed: its child process exited with code 9 before answering\n');
    await eventually(() => lines.some((l) => l.startsWith('500 ')), 1000);
    expect(lines.find((l) => l.startsWith('500 '))).to.match(/^500 GET \/slow_pool\?id=1&n=19992 \(127\.0\.0\.1\) \d+\.\d\dms TaskCrashedError: task "heavyLifting" crashed: child process \d+ exited with code 9 before answering$/);
  });

  it('10. absolute-form request targets are served (RFC 9112); other targets get 400', async () => {
    await start();
    const raw = await rawConnection(base);
    raw.socket.write('GET http://localhost/fast?id=abs HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    await raw.closed;
    expect(raw.received()).to.match(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nfast result abs\n$/);
    const bad = await rawConnection(base);
    bad.socket.write('GET ftp://localhost/fast?id=1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    await bad.closed;
    expect(bad.received()).to.match(/^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*\r\n\r\nbad request target: use a path such as \/fast\?id=1\n$/);
  });

  it('10. /stats on an idle server reports no event-loop delay, not its 10 ms sampling interval', async () => {
    await start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stats = JSON.parse((await request(`${base}/stats`)).body) as { eventLoopDelayMs: { p50: number } };
    expect(stats.eventLoopDelayMs.p50).to.be.below(5);
  });
});

describe('faults: the pool', function () {
  this.timeout(20_000);
  let pool: ChildPool | undefined;
  afterEach(() => pool?.destroy());

  it('7. a task that leaves an unhandled rejection after answering does not sink the next, unrelated run', async () => {
    let stderr = '';
    const output = { stdout: new PassThrough(), stderr: new PassThrough() };
    output.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    pool = new ChildPool({ tasks: TASKS, minChildren: 1, maxChildren: 1, spares: 0 }, { output });
    await pool.ready();
    const [first, second] = await Promise.all([pool.run('strayRejection'), pool.run('add', [1, 2])]);
    expect([first, second]).to.deep.equal(['answered', 3]);
    expect(pool.stats()).to.include({ crashed: 0, failed: 0, completed: 2 });
    await eventually(() => stderr.includes('leaving'), 1000);
    expect(stderr, 'the child\'s own stderr, copied through its pipe').to.match(/uncaught Error: left behind on purpose[\s\S]*leaving; the pool replaces it/);
  });
});

describe('/metrics and latency in /stats, real children', function () {
  this.timeout(20_000);
  let app: RunningSlowlane | undefined;
  afterEach(() => app?.destroy());

  it('/metrics is Prometheus text with the counters /stats has; /stats shows queue-wait and run-time percentiles per pool', async () => {
    app = await startSlowlane({ port: 0, host: '127.0.0.1', tasks: SERVER_TASKS, poolSize: 1, maxChildren: 2 });
    const base = `http://127.0.0.1:${app.address.port}`;
    await Promise.all([1, 2, 3].map((id) => request(`${base}/slow_pool?id=${id}&n=300`)));
    await request(`${base}/fast?id=1`);
    await request(`${base}/nope`);
    const answer = await request(`${base}/metrics`);
    expect(answer.headers['content-type']).to.equal('text/plain; version=0.0.4; charset=utf-8');
    const samples = new Map<string, number>();
    const types = new Map<string, string>();
    for (const line of answer.body.trimEnd().split('\n')) {
      const type = /^# TYPE (\w+) (counter|gauge|summary)$/.exec(line);
      if (type) types.set(type[1]!, type[2]!);
      if (line.startsWith('#')) continue;
      const sample = /^(\w+)(\{[^}]*\})? (-?[\d.e+-]+)$/.exec(line);
      expect(sample, `a sample line: ${line}`).not.to.equal(null);
      samples.set(`${sample![1]}${sample![2] ?? ''}`, Number(sample![3]));
    }
    expect(types.get('slowlane_requests_total')).to.equal('counter');
    expect(types.get('slowlane_pool_queue_wait_seconds')).to.equal('summary');
    expect(samples.get('slowlane_requests_total{status="200"}')).to.equal(4);
    expect(samples.get('slowlane_requests_total{status="404"}')).to.equal(1);
    expect(samples.get('slowlane_pool_tasks_total{pool="warm",outcome="completed"}')).to.equal(3);
    expect(samples.get('slowlane_pool_children{pool="warm"}')).to.equal(1);
    expect(samples.get('slowlane_pool_run_seconds_count{pool="warm"}')).to.equal(3);
    expect(samples.get('slowlane_pool_queue_wait_seconds{pool="warm",quantile="0.99"}'), 'two of three waited for the one child').to.be.above(0);
    const stats = JSON.parse((await request(`${base}/stats`)).body) as { latency: Record<string, { queueWaitMs: { count: number; p99: number }; runMs: { count: number; p50: number } }> };
    expect(stats.latency['warm']!.runMs.count).to.equal(3);
    expect(stats.latency['warm']!.runMs.p50).to.be.above(0);
    expect(stats.latency['warm']!.queueWaitMs.p99).to.be.above(stats.latency['warm']!.runMs.p50 * 0.5);
  });
});
