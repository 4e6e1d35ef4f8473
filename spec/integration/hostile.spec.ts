// The second hostile round, met by real processes: programs a task started,
// runs that must never run twice, a log reader that exits, a grandchild's
// memory, a loop stalled past a timeout. Numbers follow the points.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ChildPool } from '../../lib/pool/child-pool.js';
import { ResultTooLargeError, TaskLoadError, TaskMemoryError, TaskTimeoutError } from '../../lib/pool/errors.js';
import { OrdersDatabase } from '../../lib/demo/orders/orders-db.js';
import { request } from '../support/http.js';
import { eventually, isAlive } from '../../tools/proc.js';
import { BIN_SERVER, startListening, type ServerProcess } from '../../tools/server-process.js';

const HOSTILE = new URL('../fixtures/hostile-tasks.js', import.meta.url);
const HUNGRY_SETUP = new URL('../fixtures/hungry-setup-tasks.js', import.meta.url);
const FAILING_SETUP = new URL('../fixtures/failing-setup-tasks.js', import.meta.url);
type Hostile = typeof import('../fixtures/hostile-tasks.js');

const pidsIn = (file: string): number[] => {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
const linesIn = (file: string): string[] => readFileSync(file, 'utf8').trim().split('\n').filter(Boolean);

describe('hostile round two, real processes', function () {
  this.timeout(30_000);
  let dir: string;
  let pool: ChildPool<Hostile> | undefined;
  const started: number[] = [];
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'slowlane-hostile-'))));
  afterEach(async () => {
    await pool?.destroy();
    pool = undefined;
    // Whatever a failing test left running is ended here, not by the next test.
    for (const pid of started.splice(0)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const note = () => join(dir, 'note');
  const make = (options: Partial<ConstructorParameters<typeof ChildPool>[0]> = {}) => (pool = new ChildPool<Hostile>({ tasks: HOSTILE, minChildren: 1, maxChildren: 1, spares: 0, ...options }));
  const programs = async (count: number) => {
    await eventually(() => pidsIn(note()).length >= count, 5000);
    const pids = pidsIn(note());
    started.push(...pids);
    return pids;
  };

  describe('1. a task\'s own programs end with it', () => {
    it('on a timeout: the program the task started is killed with its child', async () => {
      make({ timeoutMs: 1000 });
      const run = pool!.run('startProgramAndHang', [note()]);
      const [program] = await programs(1);
      expect(isAlive(program!)).to.equal(true);
      expect(await run.catch((e: unknown) => e)).to.be.instanceOf(TaskTimeoutError);
      expect(await eventually(() => !isAlive(program!), 2000), 'the program is gone').to.equal(true);
    });

    it('on destroy(), and when a task answered but left its program running', async () => {
      make();
      const answered = await pool!.run('startProgramAndAnswer', [note()]);
      void pool!.run('startProgramAndHang', [note()]).catch(() => {});
      const [left, running] = await programs(2);
      expect(left).to.equal(answered);
      await pool!.destroy();
      expect(await eventually(() => !isAlive(left!) && !isAlive(running!), 2000), 'both programs are gone').to.equal(true);
    });

    it('when the process holding the pool is SIGKILLed: the guard kills what its tasks started', async () => {
      const script = join(dir, 'holder.mjs');
      writeFileSync(script, [
        `import { ChildPool } from ${JSON.stringify(new URL('../../lib/index.js', import.meta.url).href)};`,
        `const pool = new ChildPool({ tasks: ${JSON.stringify(HOSTILE.href)}, maxChildren: 1, spares: 0 });`,
        `void pool.run('startProgramAndHang', [${JSON.stringify(note())}]);`,
        'setInterval(() => {}, 1000);',
      ].join('\n'));
      const holder = spawn(process.execPath, [script], { stdio: 'ignore' });
      started.push(holder.pid!);
      const [program] = await programs(1);
      expect(isAlive(program!)).to.equal(true);
      holder.kill('SIGKILL');
      expect(await eventually(() => !isAlive(program!), 3000), 'the program is gone after its server was SIGKILLed').to.equal(true);
    });
  });

  describe('8. a run that had begun never runs twice', () => {
    it('a value that cannot be sent, whose error cannot even be printed: one side effect, the run fails, the child serves on', async () => {
      make();
      const error = await pool!.run('sideEffectThenPoison', [note()]).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(Error);
      // Issue 26: the message names what was sent, never the value (it may hold secrets).
      expect((error as Error).message).to.match(/the task's answer cannot be copied to another process/);
      const pid = await pool!.run('whoAmI');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(linesIn(note()), 'the side effect happened once').to.deep.equal([`ran ${pid}`]);
      expect(pool!.stats()).to.include({ failed: 1, crashed: 0, completed: 1 });
    });

    it('a task that sends { type: "ready" } itself: run once, answered once', async () => {
      make();
      expect(await pool!.run('sideEffectThenReady', [note()])).to.equal('done');
      await pool!.run('whoAmI');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(linesIn(note())).to.have.length(1);
    });
  });

  describe('memory cap: descendants and setup() count', () => {
    it('a grandchild that takes 250 MiB under a 150 MiB cap: TaskMemoryError, the grandchild is gone, the next run is served', async () => {
      make({ maxMemoryMb: 150 });
      const error = await pool!.run('grandchildHogs', [250, note()]).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(TaskMemoryError);
      const [grandchild] = await programs(1);
      expect(await eventually(() => !isAlive(grandchild!), 2000)).to.equal(true);
      expect(await pool!.run('whoAmI')).to.be.a('number');
    });

    it('a setup() that takes 400 MiB under a 150 MiB cap: the module counts as unable to load', async () => {
      const hungry = new ChildPool({ tasks: HUNGRY_SETUP, minChildren: 1, maxChildren: 1, spares: 0, maxMemoryMb: 150 });
      try {
        const error = await hungry.ready().catch((e: unknown) => e);
        expect(error).to.be.instanceOf(TaskLoadError);
        expect((error as Error).message).to.match(/setup\(\) passed the memory cap of 150 MiB/);
        expect(hungry.stats().memoryKilled).to.be.at.least(1);
      } finally {
        await hungry.destroy();
      }
    });
  });

  it('maxResultBytes: a result over it is refused in the child with ResultTooLargeError; the same child serves on', async () => {
    make({ maxResultBytes: 1024 * 1024 });
    const pid = await pool!.run('whoAmI');
    const error = await pool!.run('bytes', [2 * 1024 * 1024]).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ResultTooLargeError);
    expect((error as Error).message).to.equal('task "bytes" returned 2 MiB, more than its allowance of 1 MiB (maxResultBytes); return less, or stream it in parts');
    expect((await pool!.run('bytes', [1024])).length).to.equal(1024);
    expect(await pool!.run('whoAmI'), 'not replaced').to.equal(pid);
  });

  it('a loop stalled past a timeout: an answer already in the pipe wins over the timer, and the child is kept', async () => {
    make({ timeoutMs: 300 });
    const pid = await pool!.run('whoAmI');
    const run = pool!.run('answerAfter', [20]);
    const until = Date.now() + 1000;
    while (Date.now() < until); // an inline /slow, a SIGSTOP: this loop is held past the timeout
    expect(await run).to.equal(pid);
    expect(pool!.stats()).to.include({ timedOut: 0, completed: 2 });
  });

  it('inheritEnv: children get only the names listed, plus env', async () => {
    process.env['SLOWLANE_TEST_SECRET'] = 'not for children';
    try {
      make({ inheritEnv: ['PATH'], env: { ADDED: '1' } });
      expect(await pool!.run('envOf', [['PATH', 'ADDED', 'SLOWLANE_TEST_SECRET']])).to.deep.equal({ PATH: process.env['PATH'], ADDED: '1', SLOWLANE_TEST_SECRET: undefined });
      await pool!.destroy();
      make({ inheritEnv: false });
      expect(await pool!.run('envOf', [['PATH', 'SLOWLANE_TEST_SECRET']])).to.deep.equal({ PATH: undefined, SLOWLANE_TEST_SECRET: undefined });
      await pool!.destroy();
      make();
      expect(await pool!.run('envOf', [['SLOWLANE_TEST_SECRET']]), 'by default, everything').to.deep.equal({ SLOWLANE_TEST_SECRET: 'not for children' });
    } finally {
      delete process.env['SLOWLANE_TEST_SECRET'];
    }
  });

  it('3. output copied from children to a stream whose reader has gone: no uncaught error, runs go on', async () => {
    const gone = () => new Writable({ write: (_chunk, _encoding, callback) => callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })) });
    pool = new ChildPool<Hostile>({ tasks: HOSTILE, minChildren: 1, maxChildren: 1, spares: 0 }, { output: { stdout: gone(), stderr: gone() } });
    for (let i = 0; i < 3; i += 1) expect(await pool.run('shout', [`line ${i}`])).to.equal(`line ${i}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(pool.stats()).to.include({ completed: 3, crashed: 0 });
  });
});

describe('3. a log reader that exits, real server', function () {
  this.timeout(30_000);
  let server: ServerProcess | undefined;
  afterEach(async () => {
    await server?.stop(2000);
    server = undefined;
  });

  it('bin/server start 2> >(head -n 1): the server keeps answering after its log reader has gone', async () => {
    // bash's process substitution: the reader takes one line and exits, as a killed `| tee` does.
    server = await startListening('bash', ['-c', 'exec "$0" start --port 0 --pool-size 1 2> >(head -n 1 >/dev/null)', BIN_SERVER], { stderr: 'ignore' });
    const statuses: number[] = [];
    for (let i = 1; i <= 20; i += 1) {
      statuses.push((await request(`${server.url}/fast?id=${i}`)).status);
      if (i % 5 === 0) await new Promise((resolve) => setTimeout(resolve, 50)); // let the log be flushed into the closed pipe
    }
    statuses.push((await request(`${server.url}/slow_pool?id=1&n=10`)).status);
    expect(statuses).to.deep.equal(new Array(21).fill(200));
    expect(server.child.exitCode, 'still running').to.equal(null);
  });
});

describe('4. the orders database that cannot be built', function () {
  this.timeout(30_000);
  let dir: string;
  let db: OrdersDatabase | undefined;
  const lines: string[] = [];
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'slowlane-orders-fail-'))));
  afterEach(async () => {
    await db?.destroy();
    db = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 without a path or pid (the log has them), and builds again once the cause is gone', async () => {
    const blocker = join(dir, 'blocker');
    writeFileSync(blocker, 'a file where a folder should be');
    const path = join(blocker, 'sub', 'orders.sqlite');
    db = new OrdersDatabase({ path, rows: 2000, retryAfterMs: 200, log: (line) => lines.push(line), pool: { minChildren: 1, maxChildren: 1, spares: 0 } });
    await db.settled;
    expect(db.state).to.equal('unavailable');
    const refused = await db.runner.run('report', ['north', 30]).catch((e: unknown) => e) as { status: number; message: string };
    expect(refused.status).to.equal(503);
    expect(refused.message).to.equal('the orders database could not be built (the server\'s log says why); it is tried again 1 s after the failure');
    expect(refused.message).not.to.include(dir);
    expect(lines.join('\n'), 'the log has the detail').to.include('ENOTDIR');
    rmSync(blocker);
    await new Promise((resolve) => setTimeout(resolve, 250));
    const building = await db.runner.run('report', ['north', 30]).catch((e: unknown) => e) as { status: number; message: string };
    expect(building.message).to.match(/is being built/);
    await db.settled;
    expect(db.state).to.equal('ready');
    const report = await db.runner.run('report', ['north', 30]);
    expect(report).to.have.property('region', 'north');
  });

  it('a report module that cannot load, found by the first report (children start then): 503 and a retry, not a 500 per request', async () => {
    const path = join(dir, 'orders.sqlite');
    db = new OrdersDatabase({ path, rows: 2000, retryAfterMs: 60_000, tasks: FAILING_SETUP, log: (line) => lines.push(line), pool: { minChildren: 0, maxChildren: 1, spares: 0 } });
    await db.settled;
    expect(db.state, 'nothing has tried the module yet').to.equal('ready');
    const refused = await db.runner.run('report', ['north', 30]).catch((e: unknown) => e) as { status: number; message: string };
    expect(refused.status).to.equal(503);
    expect(refused.message).to.match(/^the orders database could not be built \(the server's log says why\)/);
    expect(db.state).to.equal('unavailable');
    expect(lines.join('\n')).to.include('cannot load tasks module');
  });
});

