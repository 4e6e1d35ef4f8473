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

  it('fails to load, with a clear TaskLoadError, when execArgv: [] drops the loader', async () => {
    const run = await runCommand(process.execPath, ['--import', 'tsx', RUNNER, 'none'], 30_000, { cwd: ROOT });
    expect(run.stdout).to.match(/^error TaskLoadError: cannot load tasks module file:\/\/.*ts-tasks\.ts: TypeError: Unknown file extension "\.ts"/);
  });
});
