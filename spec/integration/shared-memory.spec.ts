// Big values through /dev/shm with real children: each way, streamed, and
// no file outliving its run, whatever is killed (the child, the server).
import { expect } from 'chai';
import { fork, type ForkOptions } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { ChildPool } from '../../lib/pool/child-pool.js';
import type { ForkFn } from '../../lib/pool/launch/fork.js';
import { sharedMemoryUsable } from '../../lib/pool/wire/shared-memory.js';
import { eventually } from '../../tools/proc.js';
import { startUntil } from '../../tools/server-process.js';

const TASKS = new URL('../fixtures/shared-tasks.js', import.meta.url);
const SCRIPT = new URL('../fixtures/shared-memory-script.js', import.meta.url).pathname;
const MB = 1024 * 1024;

/** This process's files in /dev/shm: those of its pools' children. */
const ours = (pid = process.pid): string[] => readdirSync('/dev/shm').filter((name) => name.startsWith(`slowlane-${pid}-`));

describe('big values through shared memory, real children', function () {
  this.timeout(60_000);
  let pool: ChildPool | undefined;
  before(function () {
    if (!sharedMemoryUsable()) this.skip(); // not Linux: the channel carries everything, as the pool-level specs show
  });
  afterEach(async () => {
    await pool?.destroy();
    pool = undefined;
  });

  it('a 3 MiB Buffer, a Float64Array and a string each way arrive whole, and no file is left', async () => {
    pool = new ChildPool({ tasks: TASKS, maxChildren: 1, niceness: 0, sharedMemoryBytes: MB });
    const sent = Buffer.alloc(3 * MB, 2);
    expect(await pool.run('describe', [sent])).to.deep.equal(['Buffer', 3 * MB, 6 * MB]);
    const got = (await pool.run('bytes', [3 * MB])) as Buffer;
    expect(Buffer.isBuffer(got) && got.length === 3 * MB && got.every((b) => b === 7)).to.equal(true);
    const floats = (await pool.run('floats', [MB])) as Float64Array;
    expect(floats).to.be.instanceOf(Float64Array);
    expect([floats.length, floats[0], floats[MB - 1]]).to.deep.equal([MB, 1.5, 1.5]);
    const text = (await pool.run('text', [MB])) as string;
    expect([text.length, text[0]]).to.deep.equal([MB, 'é']);
    expect(await pool.run('describe', [text])).to.deep.equal(['string', MB, 'é']);
    expect(ours()).to.deep.equal([]);
  });

  it('what crosses the channel is the file\'s name, not the value: seen on the child\'s own messages', async () => {
    const toChild: unknown[] = [];
    const fromChild: unknown[] = [];
    // A fork that shows what crosses (and, being the pool's own, starts children without the spawner).
    const watching: ForkFn = (modulePath, args, options) => {
      const child = fork(modulePath, [...args], options as ForkOptions);
      const send = child.send.bind(child) as (message: unknown, callback: (error: Error | null) => void) => boolean;
      child.send = ((message: unknown, callback: (error: Error | null) => void) => (toChild.push(message), send(message, callback))) as typeof child.send;
      child.on('message', (message) => fromChild.push(message));
      return child as unknown as ReturnType<ForkFn>;
    };
    pool = new ChildPool({ tasks: TASKS, maxChildren: 1, niceness: 0, sharedMemoryBytes: MB }, { fork: watching });
    expect(await pool.run('describe', [Buffer.alloc(2 * MB, 1)])).to.deep.equal(['Buffer', 2 * MB, 2 * MB]);
    expect(((await pool.run('bytes', [2 * MB])) as Buffer).length).to.equal(2 * MB);
    expect(((await pool.run('bytes', [100])) as Buffer).length).to.equal(100);
    const runs = toChild.filter((m) => (m as { type?: string }).type === 'run') as Array<{ args: unknown[]; shared?: Array<{ slot: number; type: string }> }>;
    expect(runs[0]!.args).to.deep.equal([null]);
    expect(runs[0]!.shared!.map((ref) => [ref.slot, ref.type])).to.deep.equal([[0, 'Buffer']]);
    const results = fromChild.filter((m) => (m as { type?: string }).type === 'result') as Array<{ value: unknown; shared?: unknown[] }>;
    expect(results.map((m) => m.shared === undefined)).to.deep.equal([true, false, true]); // describe's small answer, the 2 MiB one, the 100 bytes
    expect(results[1]!.value).to.equal(null);
    expect(ours()).to.deep.equal([]);
  });

  it('a stream of 2 MiB chunks comes in order, each through its own file, none left', async () => {
    pool = new ChildPool({ tasks: TASKS, maxChildren: 1, niceness: 0, sharedMemoryBytes: MB });
    const seen: number[] = [];
    for await (const chunk of pool.stream('chunks', [5, 2 * MB])) seen.push((chunk as Buffer)[0]!, (chunk as Buffer).length);
    expect(seen).to.deep.equal([0, 2 * MB, 1, 2 * MB, 2, 2 * MB, 3, 2 * MB, 4, 2 * MB]);
    expect(ours()).to.deep.equal([]);
  });

  it('a child killed after writing to shared memory, before it sent anything: its file goes when it exits', async () => {
    pool = new ChildPool({ tasks: TASKS, maxChildren: 1, niceness: 0, sharedMemoryBytes: MB });
    const error = await pool.run('strand').catch((e: unknown) => e);
    expect((error as Error).name).to.equal('TaskCrashedError');
    expect(await eventually(() => ours().length === 0, 2000), ours().join(', ')).to.equal(true);
  });

  it('a server SIGKILLed while its child holds a file there: the group guard removes it', async () => {
    const server = await startUntil(process.execPath, [SCRIPT], /stranded (\S+)/);
    const file = server.ready[1]!;
    expect(existsSync(file)).to.equal(true);
    server.child.kill('SIGKILL');
    await server.exited;
    expect(await eventually(() => !existsSync(file), 5000), file).to.equal(true);
    expect(ours(server.pid)).to.deep.equal([]);
  });

  it('sharedMemoryBytes: Infinity turns it off and big values still arrive; 0 is refused', async () => {
    pool = new ChildPool({ tasks: TASKS, maxChildren: 1, niceness: 0, sharedMemoryBytes: Infinity });
    expect(((await pool.run('bytes', [2 * MB])) as Buffer).length).to.equal(2 * MB);
    expect(() => new ChildPool({ tasks: TASKS, sharedMemoryBytes: 0 })).to.throw(RangeError, /sharedMemoryBytes/);
  });
});
