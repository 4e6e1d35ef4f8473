// slowlane behind a real nginx on loopback, in front of real instances.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNginx, startCluster, type Cluster } from '../../deploy/cluster.js';
import { renderNginxConfig } from '../../lib/deploy/nginx-config.js';
import { burst, request } from '../support/http.js';
import { eventually, isAlive, slowlaneChildren } from '../../tools/proc.js';
import { BIN_SERVER, runCommand } from '../../tools/server-process.js';

const routesIn = (log: string) => [...new Set([...log.matchAll(/ GET (\/[a-z_]+)/g)].map((m) => m[1]))].sort();

describe('behind nginx', function () {
  this.timeout(30_000);

  it('nginx -t accepts the config that bin/server nginx-config prints', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slowlane-nginx-t-'));
    try {
      const run = await runCommand(BIN_SERVER, ['nginx-config', '--fast', '127.0.0.1:8001,127.0.0.1:8002', '--slow', '127.0.0.1:8101,[::1]:8102', '--listen', '127.0.0.1:8080', '--timeout', '30', '--run-dir', dir]);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.include('server 127.0.0.1:8101 max_fails=1 fail_timeout=5s;');
      expect(run.stdout).to.include('proxy_read_timeout 35s;');
      // The slow group goes to the instance with the fewest requests in flight; the fast one round-robin.
      expect(run.stdout).to.match(/upstream slowlane_slow \{\n\s+least_conn;/);
      expect(run.stdout).to.match(/upstream slowlane_fast \{\n\s+server /);
      expect(run.stdout).not.to.match(/\{\{/);
      writeFileSync(join(dir, 'nginx.conf'), run.stdout);
      const check = spawnSync(findNginx(), ['-t', '-p', dir, '-c', join(dir, 'nginx.conf')], { encoding: 'utf8' });
      expect(check.status, check.stderr).to.equal(0);
      expect(check.stderr).to.match(/syntax is ok/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bin/server nginx-config refuses bad instance lists with one line and exit 2', async () => {
    const run = await runCommand(BIN_SERVER, ['nginx-config', '--fast', '127.0.0.1', '--slow', '127.0.0.1:8101']);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.equal('slowlane nginx-config: --fast takes host:port entries separated by commas, like 127.0.0.1:8001,127.0.0.1:8002; got "127.0.0.1"\n');
    const missing = await runCommand(BIN_SERVER, ['nginx-config', '--fast', '127.0.0.1:1']);
    expect(missing.stderr).to.equal('slowlane nginx-config: --slow is required: the slow instances as host:port,host:port\n');
    expect(renderNginxConfig({ fast: ['a:1'], slow: ['b:2'], listen: '80', timeoutSeconds: 0.5, runDir: '/r/' }, '{{READ_TIMEOUT}} {{RUN_DIR}} {{OTHER}}')).to.equal('6 /r {{OTHER}}');
  });

  describe('2 fast and 2 slow instances behind a real nginx', () => {
    let cluster: Cluster;
    before(async () => {
      cluster = await startCluster();
    });
    after(() => cluster?.stop());

    const slowOnes = () => cluster.instances.filter((i) => i.role === 'slow');
    const fastOnes = () => cluster.instances.filter((i) => i.role === 'fast');

    it('the seed scenario through nginx: every fast answer before the first slow one', async () => {
      const urls = [...[1, 2, 3].map((id) => `${cluster.url}/slow_threaded?id=${id}&n=1500`), ...Array.from({ length: 20 }, (_, i) => `${cluster.url}/fast?id=${i + 1}`)];
      const arrived = await burst(urls);
      expect(arrived.map((a) => a.answer.status)).to.deep.equal(new Array(23).fill(200));
      expect(arrived.slice(0, 20).every((a) => a.url.includes('/fast'))).to.equal(true);
    });

    it('slow requests (the report routes and unknown routes too) land only on slow instances, fast ones only on fast instances', async () => {
      await Promise.all([1, 2, 3, 4].map((id) => request(`${cluster.url}/slow_pool?id=${id}&n=10`)));
      await Promise.all([1, 2, 3, 4].map((id) => request(`${cluster.url}/slow?id=${id}&n=10`)));
      await Promise.all(['/report?region=north', '/report_pool?region=north', '/no_such_route'].map((path) => request(`${cluster.url}${path}`)));
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (const instance of fastOnes()) expect(routesIn(instance.log()), `fast instance ${instance.url}`).to.deep.equal(['/fast']);
      const served = new Set<string>();
      for (const instance of slowOnes()) {
        const routes = routesIn(instance.log());
        expect(routes.length, `slow instance ${instance.url} served something`).to.be.above(0);
        for (const route of routes) served.add(route!);
      }
      expect([...served].sort()).to.deep.equal(['/no_such_route', '/report', '/report_pool', '/slow', '/slow_pool', '/slow_threaded']);
    });

    it('/stats and /metrics answer only on this machine\'s loopback address, 403 from any other', async () => {
      const from = (localAddress: string, path: string) => new Promise<number>((resolve, reject) => {
        http.get(`${cluster.url}${path}`, { localAddress, agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        }).on('error', reject);
      });
      expect(await from('127.0.0.1', '/stats')).to.equal(200);
      expect(await from('127.0.0.1', '/metrics')).to.equal(200);
      expect(await from('127.0.0.2', '/stats')).to.equal(403);
      expect(await from('127.0.0.2', '/metrics')).to.equal(403);
    });

    it('with --trust-proxy the instance logs the client address nginx saw, not nginx\'s', async () => {
      const answer = await new Promise<number>((resolve, reject) => {
        http.get(`${cluster.url}/fast?id=xff`, { localAddress: '127.0.0.2', agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        }).on('error', reject);
      });
      expect(answer).to.equal(200);
      await eventually(() => fastOnes().some((i) => i.log().includes('/fast?id=xff')), 2000);
      const line = fastOnes().map((i) => i.log()).join('').split('\n').find((l) => l.includes('/fast?id=xff'));
      expect(line).to.match(/^200 GET \/fast\?id=xff \(127\.0\.0\.2\) /);
    });

    it('with one slow instance killed, every slow request is answered by the other', async () => {
      const [victim, survivor] = slowOnes();
      victim!.server.child.kill('SIGKILL');
      await victim!.server.exited;
      const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => request(`${cluster.url}/slow_pool?id=k${i}&n=10`)));
      expect(answers.map((a) => a.status)).to.deep.equal(new Array(6).fill(200));
      await eventually(() => (survivor!.log().match(/slow_pool\?id=k/g) ?? []).length === 6, 2000);
      expect((survivor!.log().match(/slow_pool\?id=k/g) ?? []).length).to.equal(6);
    });

    it('with every slow instance down, fast requests are answered and slow ones get a clear 503', async () => {
      const [, survivor] = slowOnes();
      survivor!.server.child.kill('SIGKILL');
      await survivor!.server.exited;
      const slow = await request(`${cluster.url}/slow_threaded?id=1`);
      expect(slow.status).to.equal(503);
      expect(slow.body).to.equal('no slow instance is reachable; retry in a second\n');
      expect(slow.headers['retry-after']).to.equal('1');
      const fast = await Promise.all([1, 2, 3].map((id) => request(`${cluster.url}/fast?id=${id}`)));
      expect(fast.map((a) => a.body)).to.deep.equal(['fast result 1\n', 'fast result 2\n', 'fast result 3\n']);
    });

    it('stop() ends nginx, every instance and their children', async () => {
      const pids = [cluster.nginx.pid!, ...cluster.instances.map((i) => i.server.pid!)];
      const children = cluster.instances.flatMap((i) => slowlaneChildren({ parent: i.server.pid! }).map((c) => c.pid));
      await cluster.stop();
      await eventually(() => [...pids, ...children].every((pid) => !isAlive(pid)), 2000);
      expect([...pids, ...children].filter(isAlive)).to.deep.equal([]);
    });
  });
});
