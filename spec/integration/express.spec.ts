// offload() inside a real Express app, on real children: the answer, a task
// that throws, a timeout and a client that leaves, all through Express.
import { expect } from 'chai';
import express from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { HttpError } from '../../lib/http/http-error.js';
import { offload } from '../../lib/http/offload.js';
import { ChildPool } from '../../lib/pool/child-pool.js';
import { request } from '../support/http.js';
import { eventually, isAlive, slowlaneChildren } from '../../tools/proc.js';

type FixtureTasks = typeof import('../fixtures/tasks.js');
const TASKS = new URL('../fixtures/tasks.js', import.meta.url);

describe('offload() in an Express app, real children', function () {
  let pool: ChildPool<FixtureTasks>;
  let server: Server;
  let base: string;

  before(async () => {
    pool = new ChildPool<FixtureTasks>({ tasks: TASKS, minChildren: 1, maxChildren: 2 });
    const app = express();
    app.get('/add', offload(pool, 'add', (req: express.Request) => {
      const a = Number(req.query['a']);
      const b = Number(req.query['b']);
      if (!Number.isFinite(a) || !Number.isFinite(b)) throw new HttpError(400, 'a and b must be numbers');
      return [a, b];
    }));
    app.get('/fail', offload(pool, 'fail', () => ['on purpose']));
    app.get('/spin', offload(pool, 'spinForever', () => [], { timeoutMs: 300 }));
    app.get('/sleep', offload(pool, 'sleep', () => [60_000]));
    app.get('/fast', (_req, res) => {
      res.send('fast\n');
    });
    await pool.ready();
    await new Promise<void>((resolve) => {
      server = app.listen(0, '127.0.0.1', () => resolve());
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await pool.destroy();
  });

  it('200: the task\'s value as JSON', async () => {
    const answer = await request(`${base}/add?a=2&b=40`);
    expect(answer).to.include({ status: 200, body: '42\n' });
    expect(answer.headers['content-type']).to.equal('application/json; charset=utf-8');
  });

  it('400: bad input answered before any child is asked', async () => {
    const before = pool.stats().completed + pool.stats().failed;
    expect(await request(`${base}/add?a=x&b=1`)).to.include({ status: 400, body: 'a and b must be numbers\n' });
    expect(pool.stats().completed + pool.stats().failed).to.equal(before);
  });

  it('500: a task that throws, one line, and the next request works', async () => {
    const answer = await request(`${base}/fail`);
    expect(answer).to.include({ status: 500, body: 'task "fail" failed: RangeError: on purpose\n' });
    expect((await request(`${base}/add?a=1&b=1`)).body).to.equal('2\n');
  });

  it('504: a task past its timeout is killed', async () => {
    const answer = await request(`${base}/spin`);
    expect(answer.status).to.equal(504);
    expect(answer.body).to.equal('task "spinForever" timed out after 300 ms; its child process was killed\n');
    expect(pool.stats().timedOut).to.equal(1);
  });

  it('a client that disconnects gets its child killed; Express keeps serving', async () => {
    await pool.ready(); // a child that is ready takes the task at once
    const controller = new AbortController();
    const pending = request(`${base}/sleep`, { signal: controller.signal }).catch((e: unknown) => e);
    await eventually(() => pool.stats().running === 1, 3000);
    const busy = slowlaneChildren({ parent: process.pid }).map((c) => c.pid);
    controller.abort();
    await pending;
    expect(await eventually(() => busy.some((pid) => !isAlive(pid)), 1500), 'the sleeping child was killed').to.equal(true);
    expect(pool.stats()).to.include({ aborted: 1, running: 0 });
    expect((await request(`${base}/fast`)).body).to.equal('fast\n');
  });
});
