// The spawner (issue 22): children started by a small helper process, not by
// fork() in the pool's own process, and talking to it over a Unix socket.
// Real processes: the spawner SIGKILLed, the server SIGKILLed, a busy child,
// a grandchild; and the direct fork() kept as the fallback.
import { expect } from 'chai';
import { ChildPool } from '../../lib/pool/child-pool.js';
import { TaskCrashedError, TaskTimeoutError } from '../../lib/pool/errors.js';
import { eventually, isAlive, slowlaneChildren, slowlaneSpawners } from '../../tools/proc.js';
import { startServerProcess } from '../../tools/server-process.js';
import { request } from '../support/http.js';

const TASKS = new URL('../fixtures/tasks.js', import.meta.url);
const ppidOf = (pid: number): number => slowlaneChildren().find((c) => c.pid === pid)?.ppid ?? -1;

describe('the spawner, real processes', function () {
  this.timeout(30_000);
  let pool: ChildPool | undefined;
  afterEach(async () => {
    await pool?.destroy();
    pool = undefined;
  });

  it('starts every child: a child\'s parent is the spawner, the spawner\'s is this process; answers and values as over fork()', async () => {
    pool = new ChildPool({ tasks: TASKS, spawner: true, minChildren: 2, maxChildren: 2, spares: 0 });
    await pool.ready();
    const [spawner] = slowlaneSpawners({ parent: process.pid });
    expect(spawner, 'a spawner of ours').to.not.equal(undefined);
    const pid = await pool.run<number>('whoAmI');
    expect(ppidOf(pid)).to.equal(spawner!.pid);
    expect(await pool.run('echo', [new Map([[1n, Buffer.from('bytes')]])])).to.deep.equal(new Map([[1n, Buffer.from('bytes')]]));
    const big = await pool.run<Buffer>('bigBuffer', [8 * 1024 * 1024 + 7]);
    expect(big.length).to.equal(8 * 1024 * 1024 + 7);
    expect(pool.stats().spawnersStarted).to.be.at.least(1);
  });

  it('a timeout kills the child (and so its group) as with fork(); exit codes reach the pool', async () => {
    pool = new ChildPool({ tasks: TASKS, spawner: true, maxChildren: 1, timeoutMs: 300 });
    const pid = await pool.run<number>('whoAmI');
    expect(await pool.run('spinForever').catch((e: unknown) => e)).to.be.instanceOf(TaskTimeoutError);
    expect(await eventually(() => !isAlive(pid), 3000), 'the spinning child is gone').to.equal(true);
    const crashed = await pool.run('exit', [3]).catch((e: unknown) => e);
    expect(crashed).to.be.instanceOf(TaskCrashedError);
    expect(crashed).to.include({ exitCode: 3, signal: null });
  });

  it('the spawner SIGKILLed: a running task fails as crashed, never hangs; the next run gets a new spawner', async () => {
    pool = new ChildPool({ tasks: TASKS, spawner: true, maxChildren: 1 });
    const first = await pool.run<number>('whoAmI');
    const [spawner] = slowlaneSpawners({ parent: process.pid });
    const started = pool.stats().spawnersStarted;
    const running = pool.run('spinForever').catch((e: unknown) => e);
    await eventually(() => pool!.stats().running === 1, 5000);
    process.kill(spawner!.pid, 'SIGKILL');
    expect(await running).to.be.instanceOf(TaskCrashedError);
    expect(await eventually(() => !isAlive(first), 3000), 'its children went with it').to.equal(true);
    expect(await pool.run('add', [2, 3])).to.equal(5);
    expect(pool.stats().spawnersStarted).to.equal(started + 1);
  });

  it('spawner: false forks directly: the child is this process\'s own', async () => {
    pool = new ChildPool({ tasks: TASKS, spawner: false, maxChildren: 1, timeoutMs: 300 });
    const pid = await pool.run<number>('whoAmI');
    expect(ppidOf(pid)).to.equal(process.pid);
    expect(await pool.run('spinForever').catch((e: unknown) => e)).to.be.instanceOf(TaskTimeoutError);
    expect(pool.stats().spawnersStarted).to.equal(0);
  });

  it('a big-heap parent: children started after it grew come from the spawner it started while small', async () => {
    // A process of its own: 512 MiB of filled Buffers, made after its pool.
    const script = [
      "import { ChildPool } from '../../lib/pool/child-pool.js';",
      `const pool = new ChildPool({ tasks: new URL('../fixtures/tasks.js', import.meta.url), tasksPerChild: 1, maxChildren: 1, spares: 0 });`,
      "await pool.run('add', [1, 1]);",
      'const hoard = []; for (let i = 0; i < 512; i += 1) hoard.push(Buffer.alloc(1024 * 1024, i));',
      // Each child says who its parent is: with tasksPerChild 1 it exits right after, often before /proc/<pid> could be read here.
      "const ppids = []; for (let i = 0; i < 3; i += 1) ppids.push(await pool.run('parentPid'));",
      "console.log(JSON.stringify({ me: process.pid, rssMib: Math.round(process.memoryUsage().rss / 1048576), ppids, kept: hoard.length }));",
      'await pool.close();',
    ].join('\n');
    const { runCommand } = await import('../../tools/server-process.js');
    const run = await runCommand(process.execPath, ['--input-type=module', '-e', script], 60_000, { cwd: new URL('.', import.meta.url).pathname });
    expect(run.code, run.stderr).to.equal(0);
    const { me, rssMib, ppids } = JSON.parse(run.stdout) as { me: number; rssMib: number; ppids: number[] };
    expect(rssMib, 'the parent is big').to.be.above(500);
    expect(new Set(ppids).size, 'one spawner started all three').to.equal(1);
    expect(ppids[0], 'not the big parent').to.not.equal(me);
  });

  it('a server SIGKILLed while a child computes: the spawner and every child are gone within seconds', async () => {
    const server = await startServerProcess(['--pool-size', '1', '--quiet'], { env: { ...process.env, SLOWLANE_SPAWNER: '1' } });
    try {
      const slow = request(`${server.url}/slow_pool?id=1&n=20000`).catch(() => undefined);
      await eventually(() => slowlaneChildren({ parent: server.pid }).length >= 2, 10_000);
      const spawners = slowlaneSpawners({ parent: server.pid }).map((s) => s.pid);
      const children = slowlaneChildren({ parent: server.pid }).map((c) => c.pid);
      expect(spawners, 'the server has a spawner').to.have.length(1);
      server.child.kill('SIGKILL');
      await server.exited;
      await slow;
      expect(await eventually(() => [...spawners, ...children].every((pid) => !isAlive(pid)), 5000), 'spawner and children gone').to.equal(true);
    } finally {
      await server.stop(2000);
    }
  });
});
