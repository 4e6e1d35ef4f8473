// Issue 26: the spawner where deployments differ from a laptop. Real
// processes each: a root server that drops privileges, a temp folder that is
// missing, read-only or too long, deaths by signal, a dead or stopped
// spawner, host objects and secrets, strangers on the children's socket.
// Children run at niceness 0 here: these tests are about the spawner, and a
// child at 19 can starve for seconds on a busy shared machine.
import { expect } from 'chai';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { offload } from '../../lib/http/offload.js';
import { once } from 'node:events';
import { ChildPool } from '../../lib/pool/child-pool.js';
import { Spawner } from '../../lib/pool/launch/spawner/spawner.js';
import { TaskCrashedError, TaskLoadError } from '../../lib/pool/errors.js';
import { eventually, isAlive, slowlaneChildren, slowlaneSpawners } from '../../tools/proc.js';
import { runCommand, startUntil } from '../../tools/server-process.js';
import { request } from '../support/http.js';

const TASKS = new URL('../fixtures/spawner-tasks.js', import.meta.url);
const SLOW_LOAD = new URL('../fixtures/slow-load-tasks.js', import.meta.url);
const SCRIPT = new URL('../fixtures/spawner-script.js', import.meta.url).pathname;
const isRoot = process.getuid?.() === 0;

/** A spawned child's environment as the kernel shows it to anyone of its user. */
const environ = (pid: number): string[] => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');

/** Runs the script fixture in a process of its own; its JSON line and exit. */
async function script(mode: string, env: NodeJS.ProcessEnv, prefix: string[] = []): Promise<{ code: number | null; out: Record<string, unknown> | undefined; stderr: string }> {
  const command = prefix.length > 0 ? prefix[0]! : process.execPath;
  const args = [...prefix.slice(1), ...(prefix.length > 0 ? [process.execPath] : []), SCRIPT, mode];
  // Not under c8's coverage: a process that becomes nobody cannot write root's coverage folder.
  const { NODE_V8_COVERAGE: _coverage, ...inherited } = process.env;
  const run = await runCommand(command, args, 30_000, { env: { ...inherited, SLOWLANE_SPAWNER: '1', ...env } });
  const line = run.stdout.trim().split('\n').pop();
  let out: Record<string, unknown> | undefined;
  try {
    out = line ? (JSON.parse(line) as Record<string, unknown>) : undefined;
  } catch {
    out = undefined;
  }
  return { code: run.code, out, stderr: run.stderr };
}

/** Everything under `dir`, as paths relative to it. */
function everything(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) found.push(join(entry.parentPath, entry.name).slice(dir.length + 1));
  return found.sort();
}

describe('the spawner where deployments differ (issue 26)', function () {
  this.timeout(40_000);
  let pool: ChildPool | undefined;
  let base: string;
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'slowlane-i26-'));
  });
  afterEach(async () => {
    await pool?.destroy();
    pool = undefined;
    chmodSync(base, 0o700);
    rmSync(base, { recursive: true, force: true });
  });

  it('1. a root server that drops to nobody: later children run as nobody, a timeout\'s kill lands, the exit is clean', async function () {
    if (!isRoot) this.skip(); // dropping privileges needs root (CI runs as root)
    const { code, out, stderr } = await script('drop', {});
    expect(code, stderr).to.equal(0);
    // c8's own complaint (its coverage folder is root's) is not ours.
    expect(stderr.split('\n').filter((line) => !/Failed to write file/.test(line)).join('\n')).to.not.match(/EACCES|EPERM/);
    expect(out).to.deep.include({ before: 0, after: { uid: 65534, gid: 65534 }, failure: 'TaskTimeoutError', killed: true, next: 4, big: 2 * 1024 * 1024, shmLeft: 0, me: 65534 });
  });

  it('7. the spawner and the group guard leave when the last pool closes, and come back with the next; the process exits by itself', async () => {
    const { code, out, stderr } = await script('helpers', {});
    expect(code, stderr).to.equal(0);
    // Two helpers each time: the spawner and the guard's shell.
    expect(out).to.deep.equal({ first: 2, oneOpen: 2, firstGone: true, sum: 5, again: 2, new: true, againGone: true });
  });

  it('2. TMPDIR missing, or not writable by the server: a pool still runs tasks', async () => {
    const missing = await script('one', { TMPDIR: join(base, 'no', 'such', 'folder') });
    expect(missing.code, missing.stderr).to.equal(0);
    expect(missing.out).to.include({ ok: true });
    const locked = join(base, 'locked');
    mkdirSync(locked);
    // Root writes anywhere: the script runs as nobody for a folder it cannot write.
    chmodSync(base, 0o755);
    chmodSync(locked, 0o555);
    const readOnly = await script('one', { TMPDIR: locked }, isRoot ? ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'] : []);
    expect(readOnly.code, readOnly.stderr).to.equal(0);
    expect(readOnly.out).to.include({ ok: true });
    expect(readdirSync(locked)).to.deep.equal([]);
  });

  it('3. a TMPDIR past the socket path limit: two processes in a row run a task, nothing is left behind', async () => {
    const long = join(base, 'a'.repeat(60), 'b'.repeat(60));
    mkdirSync(long, { recursive: true });
    for (const round of [1, 2]) {
      const { code, out, stderr } = await script('one', { TMPDIR: long });
      expect(code, `round ${round}: ${stderr}`).to.equal(0);
      expect(out, `round ${round}`).to.include({ ok: true });
    }
    expect(everything(base)).to.deep.equal(['a'.repeat(60), join('a'.repeat(60), 'b'.repeat(60))]);
  });

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGKILL'] as const) {
    it(`4. a server killed by ${signal}: nothing of it is left in TMPDIR, no child or spawner lives on`, async () => {
      const held = await startUntil(process.execPath, [SCRIPT, 'hold'], /"ready":true/, { env: { ...process.env, SLOWLANE_SPAWNER: '1', TMPDIR: base } });
      const spawners = slowlaneSpawners({ parent: held.child.pid! }).map((s) => s.pid);
      const children = slowlaneChildren({ parent: held.child.pid! }).map((c) => c.pid);
      expect(spawners, 'it has a spawner').to.have.length(1);
      held.child.kill(signal);
      await held.exited;
      expect(await eventually(() => [...spawners, ...children].every((pid) => !isAlive(pid)), 5000), 'spawner and children gone').to.equal(true);
      expect(everything(base)).to.deep.equal([]);
    });
  }

  it('5. the spawner dies while a process-per-task pool starts children: no run fails with TaskLoadError', async () => {
    pool = new ChildPool({ tasks: SLOW_LOAD, spawner: true, niceness: 0, tasksPerChild: 1, maxChildren: 1, spares: 0, env: { SLOW_LOAD_MS: '800' } });
    expect(await pool.run('add', [1, 1])).to.equal(2);
    const outcomes: unknown[] = [];
    for (let round = 0; round < 2; round += 1) {
      // A run whose child is still loading when its spawner is killed.
      const run = pool.run('add', [round, 1]).catch((error: unknown) => error);
      expect(await eventually(() => slowlaneChildren({ parent: process.pid }).length > 0, 5000), 'a child is starting').to.equal(true);
      const [spawner] = slowlaneSpawners({ parent: process.pid });
      expect(spawner, 'its spawner').to.not.equal(undefined);
      process.kill(spawner!.pid, 'SIGKILL');
      outcomes.push(await run);
      outcomes.push(await pool.run('add', [round, 2]).catch((error: unknown) => error));
    }
    expect(outcomes.filter((o) => o instanceof TaskLoadError), 'load errors').to.deep.equal([]);
    expect(outcomes.filter((o) => o instanceof Error && !(o instanceof TaskCrashedError)), 'failures other than a crash').to.deep.equal([]);
    expect(outcomes.at(-1)).to.equal(3);
  });

  it('6. the spawner stopped (SIGSTOP): runs settle within startTimeoutMs and a few seconds, on a new spawner', async () => {
    pool = new ChildPool({ tasks: TASKS, spawner: true, niceness: 0, tasksPerChild: 1, maxChildren: 1, spares: 0, startTimeoutMs: 5000 });
    expect(await pool.run('add', [1, 1])).to.equal(2);
    const [spawner] = slowlaneSpawners({ parent: process.pid });
    const started = pool.stats().spawnersStarted;
    process.kill(spawner!.pid, 'SIGSTOP');
    try {
      const settled = await Promise.race([
        pool.run('add', [2, 3]).then((value) => ({ value }), (error: unknown) => ({ error })),
        new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 15_000).unref()),
      ]);
      expect(settled).to.deep.equal({ value: 5 });
      expect(pool.stats().spawnersStarted).to.equal(started + 1);
    } finally {
      if (isAlive(spawner!.pid)) process.kill(spawner!.pid, 'SIGKILL');
    }
  });

  it('7. host objects cross as over fork(), and no error or 500 body carries a value\'s contents', async () => {
    pool = new ChildPool({ tasks: TASKS, spawner: true, niceness: 0, maxChildren: 1 });
    const forked = new ChildPool({ tasks: TASKS, spawner: false, niceness: 0, maxChildren: 1 });
    try {
      expect(await pool.run('hostEnv')).to.deep.equal(await forked.run('hostEnv'));
    } finally {
      await forked.destroy();
    }
    expect(await pool.run('echo', [process.env])).to.deep.equal({ ...process.env });
    const sent = await pool.run('echo', [{ token() { return 'SECRET-VALUE-42'; } }]).catch((error: Error) => error);
    expect(sent).to.be.instanceOf(Error);
    expect(String((sent as Error).message)).to.not.include('SECRET-VALUE-42');
    const returned = await pool.run('secretFunction').catch((error: Error) => error);
    expect(String((returned as Error).message)).to.not.include('SECRET-VALUE-42');
    const http = await import('node:http');
    const web = http.createServer(offload(pool, 'secretFunction', () => [])).listen(0, '127.0.0.1');
    try {
      await new Promise((resolve) => web.once('listening', resolve));
      const { port } = web.address() as { port: number };
      const response = await request(`http://127.0.0.1:${port}/`);
      expect(response.status).to.equal(500);
      expect(response.body).to.not.include('SECRET-VALUE-42');
    } finally {
      web.close();
    }
  });

  describe('the children\'s socket', () => {
    /** A spawned child's pid and the socket address it was handed. */
    async function spawnedChild(): Promise<{ pid: number; address: string }> {
      pool = new ChildPool({ tasks: TASKS, spawner: true, niceness: 0, maxChildren: 1 });
      const pid = await pool.run<number>('whoAmI');
      const entry = environ(pid).find((line) => line.startsWith('SLOWLANE_CHANNEL='));
      expect(entry, 'the child was told where its pool is').to.not.equal(undefined);
      const value = entry!.slice('SLOWLANE_CHANNEL='.length);
      return { pid, address: value.startsWith('@') ? `\0${value.slice(1)}` : value };
    }

    it('holds no secret in a child\'s environment, which anyone of its user can read', async () => {
      const { pid } = await spawnedChild();
      const secrets = environ(pid).filter((line) => line.startsWith('SLOWLANE_CHANNEL_TOKEN'));
      expect(secrets).to.deep.equal([]);
      const seen = await pool!.run<{ channelEnv: string[] }>('identity');
      expect(seen.channelEnv).to.deep.equal([]);
    });

    it('cuts a stranger off within a few bytes: a huge announced hello, or none at all', async () => {
      const { address } = await spawnedChild();
      const closedAfter = (bytes: Buffer): Promise<{ closed: boolean; written: number }> =>
        new Promise((resolve) => {
          const socket = connect(address);
          let written = 0;
          const timer = setTimeout(() => {
            socket.destroy();
            resolve({ closed: false, written });
          }, 8000);
          socket.on('error', () => {});
          socket.on('close', () => {
            clearTimeout(timer);
            resolve({ closed: true, written });
          });
          socket.on('connect', () => {
            socket.write(bytes);
            written += bytes.length;
            // Then a bounded stream of junk, as a flood would send.
            const junk = Buffer.alloc(64 * 1024, 1);
            let sent = 0;
            const more = (): void => {
              while (sent < 256 && !socket.destroyed && socket.write(junk)) {
                sent += 1;
                written += junk.length;
              }
              if (sent < 256 && !socket.destroyed) socket.once('drain', more);
            };
            more();
          });
        });
      const head = Buffer.alloc(4);
      head.writeUInt32BE(1_000_000_000);
      const huge = await closedAfter(head);
      expect(huge.closed, 'a hello announced as 1 GB is refused').to.equal(true);
      expect(huge.written, 'cut off before 16 MiB arrived').to.be.below(16 * 1024 * 1024);
      const silent = await new Promise<boolean>((resolve) => {
        const socket = connect(address);
        socket.on('error', () => {});
        const timer = setTimeout(() => {
          socket.destroy();
          resolve(false);
        }, 8000);
        socket.on('close', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      expect(silent, 'a connection that says nothing is closed within seconds').to.equal(true);
      // The pool was not disturbed.
      expect(await pool!.run('add', [1, 2])).to.equal(3);
    });
  });

  it('refuses a second hello for a child already connected', async () => {
    const spawner = new Spawner({ launcher: undefined, directFork: () => { throw new Error('the spawner was to be used'); } });
    try {
      const child = spawner.fork(new URL('../fixtures/double-hello.js', import.meta.url).pathname, [], { env: process.env });
      const [message] = await once(child, 'message');
      expect(message).to.deep.equal({ secondClosed: true });
      await once(child, 'exit');
    } finally {
      const { pid } = spawner.stats();
      if (pid !== undefined) process.kill(pid, 'SIGKILL');
    }
  });

  it('a spawned child sees what a forked one does: the server\'s working directory now, process.connected', async () => {
    const here = process.cwd();
    const forked = new ChildPool({ tasks: TASKS, spawner: false, niceness: 0, tasksPerChild: 1, maxChildren: 1, spares: 0 });
    pool = new ChildPool({ tasks: TASKS, spawner: true, niceness: 0, tasksPerChild: 1, maxChildren: 1, spares: 0 });
    try {
      await pool.run('add', [1, 1]); // the spawner runs, started from `here`
      process.chdir(base);
      const spawned = await pool.run<{ cwd: string; connected: boolean }>('identity');
      const direct = await forked.run<{ cwd: string; connected: boolean }>('identity');
      expect({ cwd: spawned.cwd, connected: spawned.connected }).to.deep.equal({ cwd: direct.cwd, connected: direct.connected });
      expect(spawned.cwd).to.equal(base);
      expect(spawned.connected).to.equal(true);
    } finally {
      process.chdir(here);
      await forked.destroy();
    }
  });
});
