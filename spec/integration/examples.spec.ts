// The README's node:http, Express and stream servers (examples/ holds them
// byte for byte; doc-snippets.spec.ts checks that and runs them from the
// packed package), here put through bad input and SIGTERM: their own server,
// their own tasks module, importing 'slowlane' by name.
import { expect } from 'chai';
import { request } from '../support/http.js';
import { slowlaneChildren } from '../../tools/proc.js';
import { ROOT, startListening } from '../../tools/server-process.js';

for (const example of ['http-server.mjs', 'express-server.mjs']) {
  describe(`examples/${example}`, () => {
    it('answers the hash route with 200, bad input with 400, and stops cleanly on SIGTERM', async () => {
      const server = await startListening(process.execPath, [`${ROOT}examples/${example}`], { env: { ...process.env, PORT: '0' } });
      try {
        const answer = await request(`${server.url}/hash?text=hi`);
        expect(answer.status).to.equal(200);
        expect(answer.body).to.match(/^[0-9a-f]{64}$/);
        const bad = await request(`${server.url}/hash?nothing=1`);
        expect(bad).to.include({ status: 400, body: 'missing query argument: text\n' });
        server.child.kill('SIGTERM');
        expect(await server.exited).to.deep.equal({ code: 0, signal: null });
        expect(slowlaneChildren({ parent: server.pid })).to.deep.equal([]);
      } finally {
        await server.stop(2000);
      }
    });
  });
}

describe('examples/stream-server.mjs', () => {
  it('streams one CSV line per digest, answers bad input with 400, and stops cleanly on SIGTERM', async () => {
    const server = await startListening(process.execPath, [`${ROOT}examples/stream-server.mjs`], { env: { ...process.env, PORT: '0' } });
    try {
      const answer = await request(`${server.url}/digests?count=1000`);
      expect(answer.status).to.equal(200);
      expect(answer.headers['content-type']).to.equal('text/csv; charset=utf-8');
      const lines = answer.body.trimEnd().split('\n');
      expect(lines).to.have.length(1000);
      expect(lines[999]).to.match(/^999,[0-9a-f]{64}$/);
      expect(await request(`${server.url}/digests?count=0`)).to.include({ status: 400, body: 'count must be a number from 1 to 1000000\n' });
      server.child.kill('SIGTERM');
      expect(await server.exited).to.deep.equal({ code: 0, signal: null });
    } finally {
      await server.stop(2000);
    }
  });
});
