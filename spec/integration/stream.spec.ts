// pool.stream() on real children: order, flow control, cancellation that
// reaches the generator, failures midway.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { fork, type ForkOptions } from 'node:child_process';
import { ChildPool } from '../../lib/pool/child-pool.js';
import type { ForkFn } from '../../lib/pool/launch/fork.js';
import { offload } from '../../lib/http/offload.js';
import { TaskCrashedError, TaskError, TaskTimeoutError } from '../../lib/pool/errors.js';
import { eventually } from '../../tools/proc.js';
import { runCommand } from '../../tools/server-process.js';
import type { ChunkStream } from '../../lib/pool/schedule/chunk-stream.js';

const TASKS = new URL('../fixtures/stream-tasks.js', import.meta.url);
const LIB = new URL('../../lib/index.js', import.meta.url).href;
type Tasks = typeof import('../fixtures/stream-tasks.js');

/** Waits (at most `withinMs`) until `count()` has not changed for `stableMs`. */
async function steady(count: () => number, stableMs: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  let last = count();
  let since = Date.now();
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = count();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= stableMs) return true;
  }
  return false;
}

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const values: T[] = [];
  for await (const value of stream) values.push(value);
  return values;
}

describe('pool.stream(), real children', function () {
  this.timeout(20_000);
  let pool: ChildPool<Tasks>;
  let dir: string;
  const diary = () => join(dir, 'diary');
  const lines = (): string[] => {
    try {
      return readFileSync(diary(), 'utf8').trim().split('\n');
    } catch {
      return [];
    }
  };
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'slowlane-stream-'));
    pool = new ChildPool<Tasks>({ tasks: TASKS, minChildren: 1, maxChildren: 1, spares: 0, streamWindow: 4, killGraceMs: 2000 });
    await pool.ready();
  });
  afterEach(async () => {
    await pool.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('yields an async generator\'s values in order, and a sync generator\'s', async () => {
    expect(await collect(pool.stream('count', [50]))).to.deep.equal(Array.from({ length: 50 }, (_, i) => i));
    expect(await collect(pool.stream('letters', ['slow']))).to.deep.equal(['s', 'l', 'o', 'w']);
    expect(pool.stats()).to.include({ completed: 2, running: 0 });
  });

  it('a reader that stops reading pauses the generator in the child: it is never more than the window ahead', async () => {
    const stream = pool.stream('endless', [diary()]);
    const read: number[] = [];
    for (let i = 0; i < 3; i += 1) read.push((await stream.next()).value as number);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const produced = lines().filter((line) => line.startsWith('produced')).length;
    expect(read).to.deep.equal([0, 1, 2]);
    // 3 read, up to a window (4) of credit outstanding, and one value being produced when credit ran out.
    expect(produced, `produced while the reader waited: ${produced}`).to.be.at.most(3 + 4 + 1);
    await stream.return?.();
  });

  it('break closes the generator in the child (its finally runs) and the child stays', async () => {
    const pid = await pool.run('whoAmI');
    let taken = 0;
    for await (const value of pool.stream('endless', [diary()])) {
      taken += 1;
      if (value === 2) break;
    }
    expect(taken).to.equal(3);
    expect(await eventually(() => lines().includes('closed'), 1000), 'finally ran within a second').to.equal(true);
    expect(await pool.run('whoAmI'), 'the same child serves on').to.equal(pid);
    expect(pool.stats()).to.include({ aborted: 1, crashed: 0 });
  });

  it('a timeout mid-stream closes the generator too: TaskTimeoutError for the reader, the child stays', async () => {
    const pid = await pool.run('whoAmI');
    const error = await collect(pool.stream('endless', [diary()], { timeoutMs: 300 })).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TaskTimeoutError);
    expect(await eventually(() => lines().includes('closed'), 1000)).to.equal(true);
    expect(await pool.run('whoAmI')).to.equal(pid);
  });

  it('a cancel that arrives while the task is still producing its iterable is kept: the child answers and stays', async () => {
    const pid = await pool.run('whoAmI');
    const controller = new AbortController();
    const stream = pool.stream('slowStart', [diary()], { signal: controller.signal });
    const read = stream.next();
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    expect((await read.catch((e: unknown) => e) as Error).name).to.equal('AbortError');
    expect(await pool.run('whoAmI'), 'the same child, not killed after the grace').to.equal(pid);
    expect(pool.stats()).to.include({ crashed: 0, aborted: 1 });
  });

  it('a task that throws midway: the chunks before it, then TaskError; a child that dies midway: TaskCrashedError', async () => {
    const read: number[] = [];
    const error = await (async () => {
      for await (const value of pool.stream('failsAfter', [3])) read.push(value);
    })().catch((e: unknown) => e);
    expect(read).to.deep.equal([0, 1, 2]);
    expect(error).to.be.instanceOf(TaskError);
    expect((error as Error).message).to.equal('gave up after 3');
    const crashed = await collect(pool.stream('diesAfter', [2])).catch((e: unknown) => e);
    expect(crashed).to.be.instanceOf(TaskCrashedError);
  });

  it('a reader that takes one 8 MiB chunk and stalls: the child stops once the unread bytes pass streamWindowBytes, not after a window of chunks', async function () {
    this.timeout(40_000);
    // The default windows: 1024 chunks, 4 MiB.
    const big = new ChildPool<Tasks>({ tasks: TASKS, maxChildren: 1, spares: 0 });
    const produced = () => lines().filter((line) => line.startsWith('produced')).length;
    try {
      const stream = big.stream('hugeChunks', [diary(), 20, 8]);
      const first = await stream.next();
      expect(first.value?.byteLength).to.equal(8 * 1024 * 1024);
      const held = () => (stream as ChunkStream<Uint8Array>).buffered;
      // Wait (bounded) until the child stops producing for the stalled reader.
      expect(await steady(produced, 500, 10_000), 'the child stopped producing').to.equal(true);
      // Before: 16 produced, 15 of them (120 MiB) sent here. Now: the one read, and one more.
      expect(produced(), 'chunks produced for a reader that took one').to.equal(2);
      expect(await eventually(() => held() === 1, 10_000), `chunks held by the parent beyond the one read: ${held()}`).to.equal(true);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(held(), 'and no more come').to.equal(1);
      // Reading on gets the next chunks, in order: the byte window never stalls a reader that reads.
      const next: number[] = [];
      for (let i = 0; i < 4; i += 1) {
        const chunk = (await stream.next()).value as Uint8Array;
        next.push(chunk[0]!, chunk.byteLength);
      }
      expect(next).to.deep.equal([1, 2, 3, 4].flatMap((i) => [i, 8 * 1024 * 1024]));
      await stream.return?.();
      expect(await eventually(() => lines().includes('closed'), 5000), 'the generator closed').to.equal(true);
    } finally {
      await big.destroy();
    }
  });

  describe('small values batched per loop turn', () => {
    let watched: ChildPool<Tasks> | undefined;
    const fromChild: Array<{ type?: string; values?: unknown[] }> = [];
    beforeEach(() => {
      fromChild.length = 0;
      // A fork that shows the child's messages (the pool's own fork: no spawner).
      const watching: ForkFn = (modulePath, args, options) => {
        const child = fork(modulePath, [...args], options as ForkOptions);
        child.on('message', (message) => fromChild.push(message as { type?: string }));
        return child as unknown as ReturnType<ForkFn>;
      };
      watched = new ChildPool<Tasks>({ tasks: TASKS, maxChildren: 1, spares: 0, niceness: 0 }, { fork: watching });
    });
    afterEach(() => watched?.destroy());

    it('10 000 rows yielded one at a time arrive whole and in order, in far fewer messages than rows', async () => {
      const got = await collect(watched!.stream('rows', [10_000]));
      expect(got).to.have.length(10_000);
      expect(got.every((row, i) => row === `${i},row-${i}\n`)).to.equal(true);
      const messages = fromChild.filter((m) => m.type === 'chunk' || m.type === 'chunks');
      const carried = messages.reduce((n, m) => n + (m.type === 'chunks' ? m.values!.length : 1), 0);
      expect(carried).to.equal(10_000);
      expect(messages.length, `${messages.length} messages`).to.be.below(1000);
    });

    it('the first value is not held for a batch to fill: a generator that yields once and waits is read at once', async () => {
      const stream = watched!.stream('oneThenHang');
      expect((await stream.next()).value).to.equal('first');
      await stream.return?.();
      expect(await watched!.run('whoAmI')).to.be.a('number');
    });

    for (const [label, count, size] of [['32 KiB chunks', 20, 32 * 1024], ['200-byte rows', 1000, 200]] as const) {
      it(`${label} yielded without a pause go before the generator goes on holding the loop: a batch is sent once it holds 64 KiB`, async () => {
        const file = join(dir, `held-${count}`);
        const stream = watched!.stream('yieldsThenHolds', [file, count, size, 1500]);
        const first = await stream.next();
        expect(first.value).to.equal('0'.repeat(size));
        expect(existsSync(file), 'the generator is still holding the loop').to.equal(false);
        const rest = await collect(stream);
        expect(rest).to.have.length(count - 1);
        expect(readFileSync(file, 'utf8')).to.equal('held\n');
      });
    }

    it('strings, bytes and objects mixed keep their order and types', async () => {
      const got = await collect(watched!.stream('mixed'));
      expect(got.map((v) => (Buffer.isBuffer(v) || v instanceof Uint8Array ? `bytes:${Buffer.from(v as Uint8Array).toString()}` : v))).to.deep.equal(['a', 'bytes:b', { c: 1 }, 'd', 'e', [6], 'g']);
    });

    it('a reader that stops after 5 of a batch: the rest is dropped, the run ends, the child serves on', async () => {
      const taken: unknown[] = [];
      for await (const row of watched!.stream('rows', [100_000])) {
        taken.push(row);
        if (taken.length === 5) break;
      }
      expect(taken).to.deep.equal([0, 1, 2, 3, 4].map((i) => `${i},row-${i}\n`));
      expect(await watched!.run('whoAmI')).to.be.a('number');
      expect(watched!.stats().running).to.equal(0);
    });
  });

  it('run() on a generator task and stream() on a plain one are clear errors', async () => {
    const untyped = pool as unknown as ChildPool;
    const run = await untyped.run('count', [3]).catch((e: unknown) => e);
    expect((run as Error).message).to.equal('task "count" yields values: use pool.stream() for it (or offload\'s stream option)');
    const stream = await collect(untyped.stream('plain')).catch((e: unknown) => e);
    expect((stream as Error).message).to.match(/^task "plain" does not yield values \(it returned number\): use pool.run\(\) for it/);
    expect(await pool.run('whoAmI')).to.be.a('number');
  });
});

describe('a stream read once and abandoned, real processes', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'slowlane-abandoned-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('ends after streamIdleTimeoutMs: the generator closes, the child runs the next task, close() resolves and the script exits by itself', async () => {
    const diary = join(dir, 'diary');
    const script = join(dir, 'abandon.mjs');
    writeFileSync(script, [
      `import { ChildPool } from ${JSON.stringify(LIB)};`,
      `const pool = new ChildPool({ tasks: ${JSON.stringify(TASKS.href)}, maxChildren: 1, spares: 0, streamIdleTimeoutMs: 500 });`,
      `const pid = await pool.run('whoAmI');`,
      // One value, then the iterator is dropped: no return(), no break, no signal.
      `console.log((await pool.stream('endless', [${JSON.stringify(diary)}]).next()).value);`,
      `console.log(await pool.run('whoAmI') === pid);`,
      `await pool.close();`,
      `console.log('closed');`,
    ].join('\n'));
    const run = await runCommand(process.execPath, [script], 15_000);
    expect(run.stdout, run.stderr).to.equal('0\ntrue\nclosed\n');
    expect(run.code, 'exited by itself').to.equal(0);
    expect(readFileSync(diary, 'utf8').trim().split('\n').at(-1), 'the generator\'s finally ran').to.equal('closed');
  });
});

describe('offload(..., { stream: true }), real children', function () {
  this.timeout(20_000);
  let pool: ChildPool<Tasks>;
  let server: http.Server;
  let base: string;
  let dir: string;
  const failures: unknown[] = [];
  beforeEach(async () => {
    failures.length = 0;
    dir = mkdtempSync(join(tmpdir(), 'slowlane-stream-http-'));
    pool = new ChildPool<Tasks>({ tasks: TASKS, minChildren: 1, maxChildren: 1, spares: 0, streamWindow: 4 });
    const routes: Record<string, http.RequestListener> = {
      '/count': offload(pool, 'count', () => [5], { stream: true }),
      '/letters': offload(pool, 'letters', () => ['abc'], { stream: true }),
      '/endless': offload(pool, 'endless', () => [join(dir, 'diary')], { stream: true }),
      '/fails': offload(pool, 'failsAfter', () => [2], { stream: true, onFailure: (error) => failures.push(error) }),
      '/failsAtOnce': offload(pool, 'failsAfter', () => [0], { stream: true }),
      '/big': offload(pool, 'bigChunks', () => [join(dir, 'diary')], { stream: true }),
      '/hugeTimesOut': offload(pool, 'hugeChunks', () => [join(dir, 'diary'), 1000, 4], { stream: true, timeoutMs: 4000, onFailure: (error) => failures.push(error) }),
    };
    server = http.createServer((req, res) => routes[req.url!]!(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await pool.ready();
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await pool.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const fetchText = (path: string) => new Promise<{ status: number; type: string | undefined; body: string; complete: boolean }>((resolve, reject) => {
    http.get(`${base}${path}`, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body, complete: res.complete }));
      res.on('error', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body, complete: false }));
    }).on('error', reject);
  });

  it('writes each value as it comes: objects as NDJSON, strings as text', async () => {
    const numbers = await fetchText('/count');
    expect(numbers).to.include({ status: 200, type: 'application/x-ndjson', body: '0\n1\n2\n3\n4\n', complete: true });
    expect(await fetchText('/letters')).to.include({ status: 200, type: 'text/plain; charset=utf-8', body: 'abc' });
  });

  it('a failure before the first value is a status; after it, the body ends incomplete and onFailure sees it', async () => {
    const atOnce = await fetchText('/failsAtOnce');
    expect(atOnce.status).to.equal(500);
    expect(atOnce.body).to.equal('task "failsAfter" failed: RangeError: gave up after 0\n');
    const midway = await fetchText('/fails');
    expect(midway.status).to.equal(200);
    expect(midway.complete, 'no final chunk').to.equal(false);
    expect(midway.body).to.equal('0\n1\n');
    expect(failures).to.have.length(1);
  });

  it('a client that stops reading: the socket fills, the server waits for drain, and the generator in the child pauses', async () => {
    const produced = () => {
      try {
        return readFileSync(join(dir, 'diary'), 'utf8').split('\n').filter((line) => line.startsWith('produced')).length;
      } catch {
        return 0;
      }
    };
    let req: http.ClientRequest | undefined;
    await new Promise<void>((resolve, reject) => {
      req = http.get(`${base}/big`, (res) => {
        res.once('data', () => {
          res.pause(); // a reader that stops
          resolve();
        });
      });
      req.on('error', () => {});
      setTimeout(() => reject(new Error('no data')), 5000);
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const whilePaused = produced();
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Unpaused it would make about 1,000 a second; paused, only what the socket buffers and the window hold.
    expect(produced(), 'no more while the reader stays paused').to.equal(whilePaused);
    expect(whilePaused, `64 KiB chunks produced in 1.5 s for a paused reader: ${whilePaused}`).to.be.below(200);
    req!.destroy();
  });

  it('a client that reads nothing when the run times out mid-stream: the server destroys its socket soon after, releasing what was queued, and answers the next request', async function () {
    this.timeout(30_000);
    const sockets: net.Socket[] = [];
    server.on('connection', (socket) => sockets.push(socket));
    const client = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
    client.on('error', () => {});
    client.pause(); // reads nothing
    client.write('GET /hugeTimesOut HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    // 4 MiB chunks: the kernel's buffers fill, then the socket's own, in this process, before the 4 s timeout.
    expect(await eventually(() => (sockets[0]?.writableLength ?? 0) > 0, 4000), 'bytes queued for the client').to.equal(true);
    const serverSide = sockets[0]!;
    // The timeout is 4 s, the flush grace 2 s: closed well within 10 s.
    const closed = await eventually(() => serverSide.destroyed, 10_000);
    expect(closed, `the server-side socket still open, ${serverSide.writableLength} bytes queued`).to.equal(true);
    expect(await eventually(() => serverSide.writableLength === 0, 2000), `what was queued for it is released: ${serverSide.writableLength} bytes left`).to.equal(true);
    expect(failures.map((error) => (error as Error).name), 'onFailure saw the timeout').to.deep.equal(['TaskTimeoutError']);
    // The client, reading at last, gets what the kernel held and then the end.
    const ended = new Promise<boolean>((resolve) => {
      client.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 5000);
    });
    client.resume();
    expect(await ended, 'the client sees its connection closed').to.equal(true);
    expect(await fetchText('/count'), 'the server answers the next request').to.include({ status: 200, body: '0\n1\n2\n3\n4\n', complete: true });
  });

  it('a client that reads nothing and a run with no timeout: cut off after the pool\'s streamIdleTimeoutMs, the generator closed', async function () {
    this.timeout(30_000);
    const idlePool = new ChildPool<Tasks>({ tasks: TASKS, maxChildren: 1, spares: 0, streamIdleTimeoutMs: 1000 });
    const sockets: net.Socket[] = [];
    const idleServer = http.createServer(offload(idlePool, 'hugeChunks', () => [join(dir, 'diary'), 1000, 4], { stream: true }));
    idleServer.on('connection', (socket) => sockets.push(socket));
    await new Promise<void>((resolve) => idleServer.listen(0, '127.0.0.1', resolve));
    const client = net.connect((idleServer.address() as AddressInfo).port, '127.0.0.1');
    try {
      client.on('error', () => {});
      client.pause();
      client.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      expect(await eventually(() => (sockets[0]?.writableLength ?? 0) > 0, 5000), 'bytes queued for the client').to.equal(true);
      // Idle 1 s, then the flush grace of 2 s.
      expect(await eventually(() => sockets[0]!.destroyed, 10_000), 'the server-side socket closed').to.equal(true);
      expect(await eventually(() => readFileSync(join(dir, 'diary'), 'utf8').endsWith('closed\n'), 2000), 'the generator closed').to.equal(true);
      expect(await idlePool.run('whoAmI'), 'the child serves on').to.be.a('number');
    } finally {
      client.destroy();
      idleServer.closeAllConnections();
      await new Promise((resolve) => idleServer.close(resolve));
      await idlePool.destroy();
    }
  });

  it('a client that leaves mid-stream: the generator\'s finally runs within a second, the child stays', async () => {
    const pid = await pool.run('whoAmI');
    await new Promise<void>((resolve, reject) => {
      const req = http.get(`${base}/endless`, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
      setTimeout(() => reject(new Error('no data')), 5000);
    });
    const closed = () => {
      try {
        return readFileSync(join(dir, 'diary'), 'utf8').includes('closed');
      } catch {
        return false;
      }
    };
    expect(await eventually(closed, 1000), 'finally ran').to.equal(true);
    expect(await pool.run('whoAmI')).to.equal(pid);
  });
});
