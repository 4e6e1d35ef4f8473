// Batch use, with real children: the naive script (Promise.all over 20 000
// runs on a pool with the default options) completes as it does with
// piscina, and pool.map() runs a batch with progress.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildPool } from '../../lib/pool/child-pool.js';
import type { MapProgress } from '../../lib/pool/pool-map.js';
import { runCommand } from '../../tools/server-process.js';

const LIB = new URL('../../lib/index.js', import.meta.url).href;
const TASKS = new URL('../fixtures/tasks.js', import.meta.url);
const RUNS = 20_000;

describe('batch use, real children', function () {
  this.timeout(90_000);

  it(`a script's Promise.all over ${RUNS} pool.run() on a pool with the default queue completes with the right sum and exits 0`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slowlane-batch-'));
    try {
      const file = join(dir, 'batch.mjs');
      // niceness 0 only because this machine is shared and busy: the queue bound is the default.
      writeFileSync(file, [
        `import { ChildPool } from ${JSON.stringify(LIB)};`,
        `const pool = new ChildPool({ tasks: ${JSON.stringify(TASKS.href)}, niceness: 0 });`,
        `const results = await Promise.all(Array.from({ length: ${RUNS} }, (_, i) => pool.run('add', [i, 1])));`,
        'console.log(results.reduce((sum, n) => sum + n, 0));',
        'await pool.close();',
      ].join('\n'));
      const run = await runCommand(process.execPath, [file], 60_000);
      expect(run.stderr.match(/^\w*Error\b.*$/m)?.[0], 'the error it printed').to.equal(undefined);
      expect(run.stdout).to.equal(`${(RUNS * (RUNS + 1)) / 2}\n`);
      expect(run.code).to.equal(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('pool.map() runs a task over 300 argument lists: results in input order, progress after each, never more than maxChildren running', async () => {
    const pool = new ChildPool<typeof import('../fixtures/tasks.js')>({ tasks: TASKS, maxChildren: 2, niceness: 0 });
    try {
      const progress: MapProgress[] = [];
      let mostInFlight = 0;
      const results = await pool.map('add', Array.from({ length: 300 }, (_, i) => [i, 1] as [number, number]), {
        onProgress: (p) => {
          progress.push(p);
          const { running, queued } = pool.stats();
          mostInFlight = Math.max(mostInFlight, running + queued);
        },
      });
      expect(results).to.deep.equal(Array.from({ length: 300 }, (_, i) => i + 1));
      expect(progress.map((p) => p.done)).to.deep.equal(Array.from({ length: 300 }, (_, i) => i + 1));
      expect(progress.every((p) => p.total === 300)).to.equal(true);
      expect(mostInFlight, 'runs given to the pool at once').to.be.at.most(2);
    } finally {
      await pool.destroy();
    }
  });
});
