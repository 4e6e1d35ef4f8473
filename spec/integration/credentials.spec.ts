// A task that fails quoting a connection string, on a real pool behind real
// servers: the client's 500 body shows the URL without its password, through
// offload() (text and JSON) and the Fastify plugin alike.
import { expect } from 'chai';
import Fastify, { type FastifyInstance } from 'fastify';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import slowlane from '../../lib/fastify/index.js';
import { offload } from '../../lib/http/offload.js';
import { ChildPool } from '../../lib/pool/child-pool.js';
import { request } from '../support/http.js';

const TASKS = new URL('../fixtures/tasks.js', import.meta.url);
type Tasks = typeof import('../fixtures/tasks.js');

const REDIS = 'cannot connect to redis://u:pw@10.0.0.1:6379/0';
const POSTGRES = 'auth failed for postgres://user:secret@db/x';
const messageOf = (req: http.IncomingMessage): [string] => [new URL(req.url!, 'http://x').searchParams.get('m')!];

describe('failure bodies hide credentials (real pool, real servers)', function () {
  this.timeout(30_000);
  let pool: ChildPool<Tasks>;
  let server: http.Server;
  let app: FastifyInstance;
  let base: string;
  let fastifyBase: string;

  before(async () => {
    pool = new ChildPool<Tasks>({ tasks: TASKS, minChildren: 1, maxChildren: 1 });
    const text = offload(pool, 'fail', messageOf);
    const json = offload(pool, 'fail', messageOf, { failureBody: 'json' });
    server = http.createServer((req, res) => (req.url!.startsWith('/json') ? json : text)(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    app = Fastify();
    await app.register(slowlane, { pool });
    app.get('/fail', async (req, reply) => reply.offload('fail', [(req.query as { m: string }).m]));
    await app.listen({ port: 0, host: '127.0.0.1' });
    fastifyBase = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await app.close();
    await pool.destroy();
  });

  const m = (message: string): string => encodeURIComponent(message);

  it('offload(): the text body masks the password', async () => {
    const answer = await request(`${base}/text?m=${m(REDIS)}`);
    expect(answer.status).to.equal(500);
    expect(answer.body).to.equal('task "fail" failed: RangeError: cannot connect to redis://u:***@10.0.0.1:6379/0\n');
    const postgres = await request(`${base}/text?m=${m(POSTGRES)}`);
    expect(postgres.body).to.equal('task "fail" failed: RangeError: auth failed for postgres://user:***@db/x\n');
  });

  it('offload() with failureBody json: the message masks it, the code stays', async () => {
    const answer = await request(`${base}/json?m=${m(REDIS)}`);
    expect(answer.status).to.equal(500);
    expect(JSON.parse(answer.body)).to.deep.equal({
      status: 500, error: 'Internal Server Error', code: 'E_FIXTURE',
      message: 'task "fail" failed: RangeError: cannot connect to redis://u:***@10.0.0.1:6379/0',
    });
  });

  it('reply.offload(): Fastify\'s error body masks it', async () => {
    const answer = await request(`${fastifyBase}/fail?m=${m(POSTGRES)}`);
    expect(answer.status).to.equal(500);
    expect(JSON.parse(answer.body).message).to.equal('task "fail" failed: RangeError: auth failed for postgres://user:***@db/x');
    expect(answer.body).to.not.include('secret');
  });
});
