// A script that used a pool and did not close it exits by itself when it is
// done, as with piscina: idle children do not hold the process open.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../tools/server-process.js';
import { eventually, slowlaneChildren } from '../../tools/proc.js';

const LIB = new URL('../../lib/index.js', import.meta.url).href;
const TASKS = new URL('../fixtures/tasks.js', import.meta.url).href;

describe('a script that never calls pool.close()', function () {
  this.timeout(20_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'slowlane-exit-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const script = (body: string): string => {
    const file = join(dir, 'script.mjs');
    writeFileSync(file, `import { ChildPool } from ${JSON.stringify(LIB)};\nconst pool = new ChildPool({ tasks: ${JSON.stringify(TASKS)} });\n${body}\n`);
    return file;
  };

  it('exits 0 after its last run, with a spare and the default options; no child is left', async () => {
    const run = await runCommand(process.execPath, [script("console.log(await pool.run('add', [2, 3]));")], 10_000);
    expect(run.stdout).to.equal('5\n');
    expect(run.code, run.stderr).to.equal(0);
    expect(await eventually(() => slowlaneChildren().every((child) => !child.args.includes(TASKS)), 2000), 'its children left with it').to.equal(true);
  });

  it('waits for what it awaits: ready(), a run that needs a child to start, and close()', async () => {
    const run = await runCommand(process.execPath, [script("await pool.ready();\nconsole.log('ready');\nconsole.log(await pool.run('sleep', [300]) > 0);\nawait pool.close();\nconsole.log('closed');")], 10_000);
    expect(run.stdout).to.equal('ready\ntrue\nclosed\n');
    expect(run.code, run.stderr).to.equal(0);
  });
});
