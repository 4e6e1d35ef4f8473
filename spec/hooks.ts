// Root hook: after the whole suite, no child process any test started may be
// alive. Only this run's descendants count: a `make start` beside it is not ours.
// (Orphans reparented away from us are checked by the tests that make them.)
import { expect } from 'chai';
import { descendsFrom, eventually, slowlaneChildren } from '../tools/proc.js';

const ours = () => slowlaneChildren().filter((p) => descendsFrom(p.pid, process.pid));

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(5000);
    await eventually(() => ours().length === 0, 2000);
    expect(ours().map((p) => `${p.pid} ${p.args.join(' ')}`), 'child processes left behind by the suite').to.deep.equal([]);
  },
};
