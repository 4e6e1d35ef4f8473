// bin/server and bin/call-multi as a user runs them: real processes, real signals.
import { expect } from 'chai';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from '../support/http.js';
import { eventually, isAlive, slowlaneChildren } from '../../tools/proc.js';
import { BIN_CALL_MULTI, BIN_SERVER, runCommand, startServerProcess, type ServerProcess } from '../../tools/server-process.js';

describe('bin/server and bin/call-multi as processes', () => {
  let server: ServerProcess | undefined;
  afterEach(async () => {
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    server = undefined;
  });

  it('logs one line per request and serves every route', async () => {
    server = await startServerProcess(['--pool-size', '1']);
    expect(server.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await request(`${server.url}/fast?id=1`)).body).to.equal('fast result 1\n');
    expect((await request(`${server.url}/slow_pool?id=2&n=10`)).body).to.match(/^slow result 2 <--- 0\.\d{3} s\n$/);
    await eventually(() => server!.stderr().split('\n').length >= 3, 2000);
    const lines = server.stderr().trim().split('\n');
    expect(lines[0]).to.match(/^200 GET \/fast\?id=1 \(127\.0\.0\.1\) \d+\.\d\dms$/);
    expect(lines[1]).to.match(/^200 GET \/slow_pool\?id=2&n=10 \(127\.0\.0\.1\) \d+\.\d\dms$/);
  });

  it('8. SIGTERM with requests in flight: each gets its full answer, exit 0, no child left', async () => {
    server = await startServerProcess(['--pool-size', '1']);
    const pid = server.child.pid!;
    await eventually(() => slowlaneChildren({ parent: pid }).length === 2, 3000);
    const inFlight = [1, 2].map((id) => request(`${server!.url}/slow_pool?id=${id}&n=1500`)).concat(request(`${server.url}/slow_threaded?id=3&n=1500`));
    // SIGTERM only once the server holds all three: two in the pool (one running, one queued), one forked.
    const received = async (): Promise<boolean> => {
      const { pools } = JSON.parse((await request(`${server!.url}/stats`)).body);
      return pools.warm.running + pools.warm.queued === 2 && pools.perRequest.running === 1;
    };
    for (let tries = 0; tries < 100 && !(await received()); tries += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await received(), 'the server holds the three requests').to.equal(true);
    const children = slowlaneChildren({ parent: pid }).map((c) => c.pid);
    server.child.kill('SIGTERM');
    const answers = await Promise.all(inFlight);
    expect(answers.map((a) => a.status)).to.deep.equal([200, 200, 200]);
    expect(answers.map((a) => a.body.replace(/ <--- \d+\.\d{3} s\n$/, ''))).to.deep.equal(['slow result 1', 'slow result 2', 'slow result 3']);
    expect(await server.exited).to.deep.equal({ code: 0, signal: null });
    expect(server.stderr()).to.match(/SIGTERM: answering requests already received/);
    expect(children.filter(isAlive)).to.deep.equal([]);
  });

  it('7. SIGKILL of the server: its idle children are gone within a second', async function () {
    this.timeout(45_000);
    server = await startServerProcess(['--pool-size', '2', '--spares', '1', '--warm-reports']);
    const pid = server.child.pid!;
    // Two warm, one spare, two with a database connection (--warm-reports: started once the database is built).
    // Bounded, not timed: on a loaded machine (make test with a server running beside it) 15 s was once too few.
    await eventually(() => slowlaneChildren({ parent: pid }).length === 5, 30_000);
    const children = slowlaneChildren({ parent: pid }).map((c) => c.pid);
    expect(children).to.have.length(5);
    server.child.kill('SIGKILL');
    await server.exited;
    await eventually(() => children.every((child) => !isAlive(child)), 1000);
    expect(children.filter(isAlive), 'children alive a second after the server was killed').to.deep.equal([]);
  });

  for (const scenario of ['slow_threaded', 'slow_pool']) {
    it(`bin/call-multi ${scenario}: schedule, 20 fast bodies before 3 slow ones, summary "yes", exit 0`, async () => {
      server = await startServerProcess(['--quiet']);
      const run = await runCommand(BIN_CALL_MULTI, [scenario, '--url', server.url]);
      expect(run.code, run.stderr).to.equal(0);
      const lines = run.stdout.trimEnd().split('\n');
      expect(lines.slice(0, 2)).to.deep.equal(['Scheduling Get Requests:', '------------------------']);
      expect(lines.slice(2, 5)).to.deep.equal([1, 2, 3].map((id) => `${server!.url}/${scenario}?id=${id}`));
      expect(lines[5]).to.equal(`${server.url}/fast?id=1`);
      expect(lines.slice(25, 27)).to.deep.equal(['', 'Start sending requests....']);
      const bodies = lines.slice(27, 50);
      expect(bodies.slice(0, 20).every((line) => /^fast result \d+$/.test(line)), bodies.join('\n')).to.equal(true);
      expect(bodies.slice(20).every((line) => /^slow result [123] <--- \d+\.\d{3} s$/.test(line))).to.equal(true);
      expect(lines.at(-1)).to.match(/^fast: 20 ok, slowest \d+ ms \| slow: 3 ok, last at \d+\.\d\d s \| every fast answer before the first slow: yes$/);
    });
  }

  it('bin/call-multi slow: fast answers are held behind slow ones, summary "no"', async () => {
    server = await startServerProcess(['--quiet']);
    const run = await runCommand(BIN_CALL_MULTI, ['slow', '--url', server.url]);
    expect(run.code, run.stderr).to.equal(0);
    const bodies = run.stdout.trimEnd().split('\n').slice(27, 50);
    expect(bodies[0]).to.match(/^slow result \d <--- /);
    expect(run.stdout.trimEnd().split('\n').at(-1)).to.match(/^fast: 20 ok, .* \| slow: 3 ok, .* \| every fast answer before the first slow: no$/);
  });

  it('bin/call-multi against a closed port: exit 1 with what to do', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as { port: number };
        probe.close(() => resolve(free));
      });
    });
    const run = await runCommand(BIN_CALL_MULTI, ['slow_threaded', '--url', `http://127.0.0.1:${port}`]);
    expect(run.code).to.equal(1);
    expect(run.stderr.trim()).to.equal(`slowlane-call-multi: cannot connect to http://127.0.0.1:${port} - is "slowlane start" running?`);
  });

  it('bin/call-multi with a bad scenario: exit 2 and usage', async () => {
    const run = await runCommand(BIN_CALL_MULTI, ['fastest']);
    expect(run.code).to.equal(2);
    expect(run.stderr.split('\n')[0]).to.equal('slowlane-call-multi: unknown scenario "fastest": use one of slow, slow_threaded, slow_pool');
  });

  it('bin/server: --help exits 0; a bad flag exits 2; a port in use exits 1; all with one line', async () => {
    const help = await runCommand(BIN_SERVER, ['--help']);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.match(/^Usage: slowlane start \[options\]/);
    const version = await runCommand(BIN_SERVER, ['--version']);
    expect(version.code).to.equal(0);
    expect(version.stdout).to.match(/^\d+\.\d+\.\d+\n$/);
    const bad = await runCommand(BIN_SERVER, ['start', '--port', 'eighty']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.equal('slowlane: --port must be a whole number from 0 to 65535, got "eighty"\n');
    server = await startServerProcess(['--pool-size', '1']);
    const port = new URL(server.url).port;
    const busy = await runCommand(BIN_SERVER, ['start', '--port', port, '--pool-size', '1']);
    expect(busy.code).to.equal(1);
    expect(busy.stderr).to.equal(`slowlane: port ${port} is already in use on 127.0.0.1 - stop the other server or pick another with --port\n`);
  });

  it('the launchers say to build first when dist/ is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slowlane-unbuilt-'));
    try {
      mkdirSync(join(dir, 'bin'));
      for (const [bin, name] of [[BIN_SERVER, 'server'], [BIN_CALL_MULTI, 'call-multi']] as const) {
        copyFileSync(bin, join(dir, 'bin', name));
        const run = await runCommand(process.execPath, [join(dir, 'bin', name), '--help']);
        expect(run.code).to.equal(1);
        expect(run.stderr).to.equal(`bin/${name}: slowlane is not built yet - run "make build" first\n`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
