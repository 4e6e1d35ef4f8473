// The production limits on real children: memory cap, recycling, idle
// shrink, the spawn budget under a reset storm, shedding on loop delay.
import { expect } from 'chai';
import { ChildPool } from '../../lib/pool/child-pool.js';
import { TaskMemoryError } from '../../lib/pool/errors.js';
import { startSlowlane, type RunningSlowlane, type SlowlaneConfig } from '../../lib/demo/start.js';
import { HOGS } from '../fixtures/server-tasks.js';
import { request } from '../support/http.js';
import { eventually, isAlive } from '../../tools/proc.js';

const TASKS = new URL('../fixtures/tasks.js', import.meta.url);
const SERVER_TASKS = new URL('../fixtures/server-tasks.js', import.meta.url);

describe('limits, real children', () => {
  let pool: ChildPool | undefined;
  let app: RunningSlowlane | undefined;
  afterEach(async () => {
    await pool?.destroy();
    await app?.destroy();
    pool = undefined;
    app = undefined;
  });
  const startServer = async (config: Partial<SlowlaneConfig>): Promise<string> => {
    app = await startSlowlane({ port: 0, host: '127.0.0.1', tasks: SERVER_TASKS, poolSize: 1, maxChildren: 2, ...config });
    return `http://127.0.0.1:${app.address.port}`;
  };

  it('maxMemoryMb: a task that fills Buffers past the cap is killed with TaskMemoryError; the next task works', async () => {
    pool = new ChildPool({ tasks: TASKS, minChildren: 1, maxChildren: 1, spares: 0, maxMemoryMb: 150 });
    await pool.ready();
    const [before] = pool.children();
    const error = await pool.run('hogBuffers', [300, 5000]).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TaskMemoryError);
    expect(error).to.include({ code: 'ERR_TASK_MEMORY', maxMemoryMb: 150 });
    expect((error as TaskMemoryError).rssMb).to.be.above(150);
    expect(await eventually(() => !isAlive(before!.pid!), 2000), 'the child is gone').to.equal(true);
    expect(await pool.run('add', [2, 2])).to.equal(4);
    expect(await pool.run('hogBuffers', [20, 0]), 'a task under the cap is left alone').to.equal(20);
    expect(pool.stats()).to.include({ memoryKilled: 1, completed: 2 });
  });

  it('tasksPerChild 3: ten tasks, the pid changes after every third, none fails', async () => {
    pool = new ChildPool({ tasks: TASKS, minChildren: 1, maxChildren: 1, spares: 0, tasksPerChild: 3 });
    const pids: number[] = [];
    for (let i = 0; i < 10; i += 1) pids.push(await pool.run('whoAmI') as number);
    // Jitter adds up to 10 % of 3 tasks: none.
    const runs = [pids.slice(0, 3), pids.slice(3, 6), pids.slice(6, 9), pids.slice(9)];
    for (const run of runs) expect(new Set(run).size, `one child per three tasks: ${pids.join(' ')}`).to.equal(1);
    expect(new Set(runs.map((run) => run[0])).size, 'four children').to.equal(4);
    expect(pool.stats()).to.include({ completed: 10, failed: 0, crashed: 0, recycled: 3 });
  });

  it('recycling under concurrent load loses nothing', async () => {
    pool = new ChildPool({ tasks: TASKS, minChildren: 2, maxChildren: 2, spares: 0, tasksPerChild: 4 });
    const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => pool!.run('sleep', [i % 3])));
    expect(results.filter((r) => r.status === 'rejected')).to.deep.equal([]);
    const stats = pool.stats();
    expect(stats).to.include({ completed: 40, crashed: 0 });
    expect(stats.recycled, 'about one in four tasks ends a child').to.be.at.least(8);
  });

  it('idleTimeoutMs: children above minChildren leave after that long idle; minChildren stay', async () => {
    pool = new ChildPool({ tasks: TASKS, minChildren: 1, maxChildren: 3, spares: 0, idleTimeoutMs: 300 });
    const pids = await Promise.all([pool.run('sleep', [200]), pool.run('sleep', [200]), pool.run('sleep', [200])]) as number[];
    expect(new Set(pids).size).to.equal(3);
    expect(await eventually(() => pool!.stats().children === 1, 3000), 'shrunk to minChildren').to.equal(true);
    expect(await eventually(() => pids.filter(isAlive).length === 1, 2000), 'two processes gone').to.equal(true);
    expect(pool.stats()).to.include({ shrunk: 2 });
    expect(await pool.run('add', [1, 2])).to.equal(3);
  });

  it('a reset storm: slow requests opened and reset 30 ms later for 2 s start at most the spawn budget of children', async () => {
    const base = await startServer({ maxChildren: 8, maxStartsPerSecond: 5, maxQueue: 1000 });
    const started = Date.now();
    const until = started + 2000;
    // Eight clients at once: their first requests alone ask for more starts than the budget's 5
    // (a child takes far longer than that to start), however slowly a loaded machine serves the rest.
    const clients = Array.from({ length: 8 }, async (_, c) => {
      for (let i = 0; i < 200 && Date.now() < until; i += 1) {
        await request(`${base}/slow_threaded?id=${c}-${i}&n=1500`, { signal: AbortSignal.timeout(30) }).catch(() => undefined);
      }
    });
    await Promise.all(clients);
    const stats = app!.pools.perRequest.stats();
    // 5 at once, then 5 a second for as long as the storm lasted (its last requests' own time included).
    const seconds = Math.ceil((Date.now() - started) / 1000);
    expect(stats.started, JSON.stringify(stats)).to.be.at.most(5 + 5 * seconds);
    expect(stats.startsDeferred, JSON.stringify(stats)).to.be.above(0);
    expect((await request(`${base}/fast?id=1`)).status).to.equal(200);
  });

  it('--max-loop-delay: a blocking /slow turns shedding on (slow routes 503, /fast 200), and it turns off after', async () => {
    const base = await startServer({ maxLoopDelayMs: 100 });
    const blocking = request(`${base}/slow?id=1&n=3000`);
    await new Promise((resolve) => setTimeout(resolve, 100)); // /slow has the loop now
    const [pooled, threaded, fast] = await Promise.all([request(`${base}/slow_pool?id=2&n=10`), request(`${base}/slow_threaded?id=3&n=10`), request(`${base}/fast?id=4`)]);
    expect((await blocking).status).to.equal(200);
    for (const refused of [pooled, threaded]) {
      expect(refused.status).to.equal(503);
      expect(refused.headers['retry-after']).to.equal('1');
      expect(refused.body).to.match(/^server overloaded: its event loop is \d+ ms late \(limit 100 ms\); retry in a second\n$/);
    }
    expect(fast.status).to.equal(200);
    const during = JSON.parse((await request(`${base}/stats`)).body);
    expect(during.loadShedding).to.include({ maxDelayMs: 100, shedding: true, shed: 2 });
    await new Promise((resolve) => setTimeout(resolve, 1200)); // the last second's delay ages out
    const after = JSON.parse((await request(`${base}/stats`)).body);
    expect(after.loadShedding).to.include({ shedding: false, shed: 2 });
    expect((await request(`${base}/slow_pool?id=5&n=10`)).status).to.equal(200);
  });

  it('--max-memory: a request whose task passes the cap gets 500 saying so; the next request is served', async () => {
    const base = await startServer({ maxMemoryMb: 150 });
    const answer = await request(`${base}/slow_pool?id=1&n=${HOGS}`);
    expect(answer.status).to.equal(500);
    expect(answer.body).to.equal('task "heavyLifting" ran out of its memory allowance (150 MiB) and was stopped\n');
    expect((await request(`${base}/slow_pool?id=2&n=10`)).status).to.equal(200);
    const stats = JSON.parse((await request(`${base}/stats`)).body);
    expect(stats.pools.warm).to.include({ memoryKilled: 1 });
    const [child] = stats.children.warm;
    expect(child).to.include.keys('pid', 'state', 'tasks', 'ageMs', 'rssMb');
    expect(child.tasks).to.equal(1);
    expect(child.rssMb).to.be.above(10);
  });
});
