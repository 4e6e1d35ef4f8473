// The whole server on port 0, real children, small n.
import { expect } from 'chai';
import { startSlowlane, type RunningSlowlane, type SlowlaneConfig } from '../../lib/demo/start.js';
import { EXITS, HANGS, THROWS } from '../fixtures/server-tasks.js';
import { burst, request } from '../support/http.js';
import { eventually, isAlive, slowlaneChildren } from '../../tools/proc.js';

const TASKS = new URL('../fixtures/server-tasks.js', import.meta.url);

async function start(config: Partial<SlowlaneConfig> = {}): Promise<{ app: RunningSlowlane; base: string }> {
  const app = await startSlowlane({ port: 0, host: '127.0.0.1', tasks: TASKS, poolSize: 2, maxChildren: 4, ...config });
  return { app, base: `http://127.0.0.1:${app.address.port}` };
}

function seed(base: string, route: string, slow: number, fast: number, n: number): string[] {
  return [
    ...Array.from({ length: slow }, (_, i) => `${base}/${route}?id=${i + 1}&n=${n}`),
    ...Array.from({ length: fast }, (_, i) => `${base}/fast?id=${i + 1}`),
  ];
}

describe('server with real children', () => {
  let app: RunningSlowlane;
  let base: string;
  afterEach(async () => {
    await app?.destroy();
  });

  for (const route of ['slow_threaded', 'slow_pool']) {
    it(`/${route}: 3 slow then 20 fast at once - every fast answer arrives before the first slow one`, async () => {
      ({ app, base } = await start());
      const arrived = await burst(seed(base, route, 3, 20, 1500));
      expect(arrived.map((a) => a.answer.status)).to.deep.equal(new Array(23).fill(200));
      const kinds = arrived.map((a) => (a.url.includes('/fast') ? 'fast' : 'slow'));
      expect(kinds).to.deep.equal([...new Array(20).fill('fast'), 'slow', 'slow', 'slow']);
      const slowBodies = arrived.slice(20).map((a) => a.answer.body).sort();
      for (const [i, body] of slowBodies.entries()) expect(body).to.match(new RegExp(`^slow result ${i + 1} <--- \\d+\\.\\d{3} s\\n$`));
    });
  }

  it('/slow blocks the loop: a fast request sent while it runs is answered only after it', async () => {
    ({ app, base } = await start());
    const order: string[] = [];
    const slow = request(`${base}/slow?id=1&n=3000`).then((a) => order.push(a.body.trim()));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const fast = request(`${base}/fast?id=1`).then((a) => order.push(a.body.trim()));
    await Promise.all([slow, fast]);
    expect(order[0]).to.match(/^slow result 1 <--- /);
    expect(order[1]).to.equal('fast result 1');
  });

  for (const route of ['slow_threaded', 'slow_pool']) {
    it(`/${route}: a task that throws -> 500 with one line; the next request works`, async () => {
      ({ app, base } = await start());
      const failed = await request(`${base}/${route}?id=1&n=${THROWS}`);
      expect(failed.status).to.equal(500);
      expect(failed.body).to.equal('task "heavyLifting" failed: TypeError: the task failed on purpose\n');
      expect((await request(`${base}/${route}?id=2&n=10`)).status).to.equal(200);
    });

    it(`/${route}: a child that exits mid-task -> 500 crashed; the next request works`, async () => {
      ({ app, base } = await start());
      const crashed = await request(`${base}/${route}?id=1&n=${EXITS}`);
      expect(crashed.status).to.equal(500);
      expect(crashed.body).to.equal('task "heavyLifting" crashed: its child process exited with code 9 before answering\n');
      expect((await request(`${base}/${route}?id=2&n=10`)).body).to.match(/^slow result 2 /);
    });
  }

  it('a child killed from outside mid-task -> the request gets an error answer, it does not hang', async () => {
    ({ app, base } = await start({ poolSize: 1 }));
    await request(`${base}/slow_pool?id=0&n=0`);
    const pending = request(`${base}/slow_pool?id=1&n=${HANGS}`);
    await eventually(() => app.pools.warm.stats().running === 1, 3000);
    const [child] = slowlaneChildren({ parent: process.pid, mode: 'warm' });
    process.kill(child!.pid, 'SIGKILL');
    const answer = await pending;
    expect(answer.status).to.equal(500);
    expect(answer.body).to.match(/was killed by SIGKILL before answering/);
    expect((await request(`${base}/slow_pool?id=2&n=10`)).status).to.equal(200);
  });

  it('4. a task over --timeout -> 504, and its child is gone', async () => {
    ({ app, base } = await start({ timeoutMs: 400, poolSize: 1 }));
    await request(`${base}/slow_pool?id=0&n=0`);
    const before = slowlaneChildren({ parent: process.pid, mode: 'warm' }).map((c) => c.pid);
    const answer = await request(`${base}/slow_pool?id=1&n=${HANGS}`);
    expect(answer.status).to.equal(504);
    expect(answer.body).to.equal('task "heavyLifting" passed its deadline of 400 ms (waiting included); its child process was killed\n');
    expect(await eventually(() => before.every((pid) => !isAlive(pid)), 2000)).to.equal(true);
    expect((await request(`${base}/slow_pool?id=2&n=10`)).status).to.equal(200);
  });

  for (const route of ['slow_threaded', 'slow_pool'] as const) {
    it(`5. /${route}: a client that goes away gets its child killed within a second`, async () => {
      ({ app, base } = await start({ poolSize: 1, spares: 1 }));
      const executor = route === 'slow_pool' ? app.pools.warm : app.pools.perRequest;
      // A ready child takes the task at once; a run aborted while its child still starts leaves that child be.
      await executor.ready();
      const controller = new AbortController();
      const pending = request(`${base}/${route}?id=1&n=${HANGS}`, { signal: controller.signal }).catch((e: unknown) => e);
      expect(await eventually(() => executor.stats().running === 1, 3000)).to.equal(true);
      const busy = slowlaneChildren({ parent: process.pid, mode: route === 'slow_pool' ? 'warm' : 'per-task' }).map((c) => c.pid);
      controller.abort();
      await pending;
      expect(await eventually(() => busy.every((pid) => !isAlive(pid)), 1000), 'child killed within a second').to.equal(true);
      expect(executor.stats()).to.include({ aborted: 1, running: 0 });
      const stats = JSON.parse((await request(`${base}/stats`)).body);
      expect(stats.requests['499']).to.equal(1);
    });
  }

  it('6. a flood of 50 slow requests: at most 2 children, the excess gets 503, /fast answers throughout', async () => {
    ({ app, base } = await start({ maxChildren: 2, maxQueue: 5 }));
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, slowlaneChildren({ parent: process.pid, mode: 'per-task' }).length)), 5);
    let floodDone = false;
    const flood = Promise.all(Array.from({ length: 50 }, (_, i) => request(`${base}/slow_threaded?id=${i}&n=800`))).finally(() => (floodDone = true));
    const fastDuringFlood: number[] = [];
    let answers: Awaited<typeof flood>;
    // Cleared however the test ends: a sampler left behind reads /proc every 5 ms for the rest of the run.
    try {
      while (fastDuringFlood.length < 10) {
        const answer = await request(`${base}/fast?id=${fastDuringFlood.length}`);
        if (!floodDone) fastDuringFlood.push(answer.status);
        else break;
      }
      answers = await flood;
    } finally {
      clearInterval(sampler);
    }
    const statuses = answers.map((a) => a.status);
    const busy = answers.filter((a) => a.status === 503);
    expect(statuses.filter((s) => s !== 200 && s !== 503), 'only 200 or 503').to.deep.equal([]);
    expect(busy.length, '503s').to.be.at.least(30);
    for (const answer of busy) expect(answer.headers['retry-after']).to.equal('1');
    expect(most, 'fork children alive at once').to.be.at.most(2);
    expect(fastDuringFlood.length, 'fast answers while the flood ran').to.be.at.least(1);
    expect(fastDuringFlood.every((s) => s === 200)).to.equal(true);
    expect(app.pools.perRequest.stats().rejected).to.equal(busy.length);
  });

  it('10. more busy children than cores: niceness keeps fast answers first; /stats shows loop delay', async () => {
    ({ app, base } = await start({ poolSize: 4 }));
    const arrived = await burst(seed(base, 'slow_pool', 4, 20, 2000));
    const kinds = arrived.map((a) => (a.url.includes('/fast') ? 'fast' : 'slow'));
    expect(kinds.slice(0, 20)).to.deep.equal(new Array(20).fill('fast'));
    const stats = JSON.parse((await request(`${base}/stats`)).body);
    expect(stats.pools.warm).to.include({ completed: 4, children: 4 });
    expect(stats.eventLoopDelayMs.max).to.be.a('number').and.above(0);
  });

  it('shutdown: every request already received gets its full answer, then no child is left', async () => {
    ({ app, base } = await start({ poolSize: 1 }));
    const inFlight = [request(`${base}/slow_pool?id=1&n=1000`), request(`${base}/slow_pool?id=2&n=1000`), request(`${base}/slow_threaded?id=3&n=1000`)];
    await eventually(() => app.pools.warm.stats().running + app.pools.warm.stats().queued === 2, 3000);
    await eventually(() => app.pools.perRequest.stats().running === 1, 3000);
    expect(await app.shutdown(10_000)).to.deep.equal({ clean: true, lost: 0 });
    const answers = await Promise.all(inFlight);
    expect(answers.map((a) => a.body.replace(/<--- .*/s, ''))).to.deep.equal(['slow result 1 ', 'slow result 2 ', 'slow result 3 ']);
    expect(slowlaneChildren({ parent: process.pid })).to.deep.equal([]);
  });
});
