// endBroken() on a real loopback server: what was written before a stream
// failed reaches the client, then a body without its final chunk.
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { endBroken } from '../../lib/http/stream-body.js';

interface Received {
  status: number;
  body: string;
  complete: boolean;
}

function get(url: string): Promise<Received | Error> {
  return new Promise((resolve) => {
    http.get(url, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      const done = () => resolve({ status: res.statusCode!, body, complete: res.complete });
      res.on('end', done).on('error', done);
    }).on('error', resolve);
  });
}

describe('endBroken()', () => {
  let server: http.Server;
  let base: string;

  before(async () => {
    // Two values written, the failure found a microtask later: the chunks are
    // still corked (Node 24 and later hold them in the response) when it ends.
    server = http.createServer(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('0\n');
      await Promise.resolve();
      res.write('1\n');
      await Promise.resolve();
      endBroken(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  it('right after the writes: every client gets the status and both values, then an incomplete body (not "socket hang up")', async () => {
    const received: (Received | Error)[] = [];
    for (let i = 0; i < 10; i += 1) received.push(await get(`${base}/`));
    expect(received.map((r) => (r instanceof Error ? r.message : r))).to.deep.equal(Array(10).fill({ status: 200, body: '0\n1\n', complete: false }));
  });
});
