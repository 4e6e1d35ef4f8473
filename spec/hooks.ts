// Root hook: after the whole suite, no child process any test started may be alive.
import { expect } from 'chai';
import { eventually, slowlaneChildren } from '../tools/proc.js';

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(5000);
    await eventually(() => slowlaneChildren().length === 0, 2000);
    expect(slowlaneChildren().map((p) => `${p.pid} ${p.args.join(' ')}`), 'child processes left behind by the suite').to.deep.equal([]);
  },
};
