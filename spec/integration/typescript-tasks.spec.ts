// A tasks module written in TypeScript, under `node --import tsx`: children
// inherit the parent's loader flags, so it loads without a build step.
import { expect } from 'chai';
import { ROOT, runCommand } from '../../tools/server-process.js';

const RUNNER = `${ROOT}spec/fixtures/ts-tasks-runner.mjs`;

describe('a .ts tasks module under node --import tsx', () => {
  it('runs: the children inherit --import tsx from the parent', async () => {
    const run = await runCommand(process.execPath, ['--import', 'tsx', RUNNER, 'inherit'], 30_000, { cwd: ROOT });
    expect(run.stdout).to.equal('result HI!\n');
    expect(run.code).to.equal(0);
  });

  // Node 22.18 and later strip a .ts module's types themselves (process.features.typescript is 'strip').
  const nodeStripsTypes = Boolean((process.features as { typescript?: string | false }).typescript);

  it(`execArgv: [] drops the loader: ${nodeStripsTypes ? 'this Node strips the types itself, so it runs' : 'a clear TaskLoadError on this Node (no type stripping)'}`, async () => {
    const run = await runCommand(process.execPath, ['--import', 'tsx', RUNNER, 'none'], 30_000, { cwd: ROOT });
    if (nodeStripsTypes) expect(run.stdout).to.equal('result HI!\n');
    else expect(run.stdout).to.match(/^error TaskLoadError: cannot load tasks module file:\/\/.*ts-tasks\.ts: TypeError: Unknown file extension "\.ts"/);
    expect(run.stderr, 'no warning from Node (type stripping is not experimental any more)').to.equal('');
  });

  it('fails to load, with a clear TaskLoadError, without the loader and without Node\'s type stripping', async () => {
    const run = await runCommand(process.execPath, ['--import', 'tsx', RUNNER, 'bare'], 30_000, { cwd: ROOT });
    expect(run.stdout).to.match(/^error TaskLoadError: cannot load tasks module file:\/\/.*ts-tasks\.ts: TypeError: Unknown file extension "\.ts"/);
  });
});
