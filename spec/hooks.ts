// Root hook: after the whole suite, no child process any test started may be
// alive. Only this run's descendants count: a `make start` beside it is not ours.
// (Orphans reparented away from us are checked by the tests that make them.)
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { descendsFrom, eventually, slowlaneChildren } from '../tools/proc.js';

const ours = () => slowlaneChildren().filter((p) => descendsFrom(p.pid, process.pid));

// Servers started by tests keep their orders database in a folder of this
// run (the first one builds it), never in the user's own data folder.
const dataHome = mkdtempSync(join(tmpdir(), 'slowlane-test-data-'));
process.env['XDG_DATA_HOME'] = dataHome;

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    rmSync(dataHome, { recursive: true, force: true });
    this.timeout(5000);
    await eventually(() => ours().length === 0, 2000);
    expect(ours().map((p) => `${p.pid} ${p.args.join(' ')}`), 'child processes left behind by the suite').to.deep.equal([]);
  },
};
