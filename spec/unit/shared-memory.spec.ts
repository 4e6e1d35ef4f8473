// wire/shared-memory.ts in a folder of the test's own (the functions take the
// folder as /dev/shm's stand-in): values written once, read back as the same
// type, every file removed as it is read, dropped or left by a dead child.
import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childPrefix, dropShared, putShared, removeByPrefix, sharedMemoryUsable, takeShared } from '../../lib/pool/wire/shared-memory.js';

describe('shared memory for big values', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'slowlane-shm-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('puts each value of at least minBytes in a file (its slot null), and takes it back as the same type, removing the file', () => {
    const backing = new ArrayBuffer(64);
    const view = new Uint8Array(backing, 8, 32).fill(9); // a view at an offset: only its own bytes go
    const values = [Buffer.alloc(40, 1), 'small', view, new Float64Array([1.5, -2, 3]), new BigInt64Array([1n, -2n, 3n, 4n]), 'é'.repeat(20), 7];
    const put = putShared(values, 24, 'slowlane-1-2-', dir)!;
    expect(put.refs.map((ref) => [ref.slot, ref.type])).to.deep.equal([[0, 'Buffer'], [2, 'Uint8Array'], [3, 'Float64Array'], [4, 'BigInt64Array']]);
    expect(put.values).to.deep.equal([null, 'small', null, null, null, 'é'.repeat(20), 7]);
    expect(readdirSync(dir)).to.have.length(4);
    expect(readdirSync(dir).every((name) => name.startsWith('slowlane-1-2-'))).to.equal(true);
    const back = takeShared(put.values, put.refs, dir);
    expect(Buffer.isBuffer(back[0])).to.equal(true);
    expect(back[0]).to.deep.equal(Buffer.alloc(40, 1));
    expect(back[2]).to.be.instanceOf(Uint8Array);
    expect([...(back[2] as Uint8Array)]).to.deep.equal(new Array(32).fill(9));
    expect([...(back[3] as Float64Array)]).to.deep.equal([1.5, -2, 3]);
    expect([...(back[4] as BigInt64Array)]).to.deep.equal([1n, -2n, 3n, 4n]);
    expect(back.slice(5)).to.deep.equal(['é'.repeat(20), 7]);
    expect(readdirSync(dir), 'every file removed as it was read').to.deep.equal([]);
  });

  it('a string goes as UTF-8 and comes back whole', () => {
    const put = putShared(['ü€𝄞'.repeat(10)], 10, 'p-', dir)!;
    expect(takeShared(put.values, put.refs, dir)).to.deep.equal(['ü€𝄞'.repeat(10)]);
  });

  it('nothing big enough: undefined, and no file', () => {
    expect(putShared([Buffer.alloc(10), 'abc', { big: 'x'.repeat(100) }], 64, 'p-', dir)).to.equal(undefined);
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it('dropShared() removes what will not be read; removeByPrefix() what a dead child or server left, and only that', () => {
    const put = putShared([Buffer.alloc(100)], 1, childPrefix(10, 20), dir)!;
    dropShared(put.refs, dir);
    dropShared(put.refs, dir); // twice: nothing left to remove, no error
    writeFileSync(join(dir, `${childPrefix(10, 20)}9`), 'x');
    writeFileSync(join(dir, `${childPrefix(10, 21)}9`), 'x');
    writeFileSync(join(dir, `${childPrefix(100, 20)}9`), 'x');
    expect(removeByPrefix(childPrefix(10, 20), dir)).to.equal(1);
    expect(readdirSync(dir).sort()).to.deep.equal([`${childPrefix(10, 21)}9`, `${childPrefix(100, 20)}9`]);
    expect(removeByPrefix('x', join(dir, 'missing'))).to.equal(0);
  });

  it('a file that cannot be read still lets the others be read and removed, then throws', () => {
    const put = putShared([Buffer.alloc(50), Buffer.alloc(60)], 1, 'p-', dir)!;
    rmSync(join(dir, put.refs[0]!.file));
    expect(() => takeShared(put.values, put.refs, dir)).to.throw(/ENOENT/);
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it('a folder it cannot write: the put fails and leaves nothing; usable only where it can write', () => {
    expect(() => putShared([Buffer.alloc(50)], 1, 'p-', join(dir, 'missing'))).to.throw(/ENOENT/);
    expect(sharedMemoryUsable(join(dir, 'missing'))).to.equal(false);
    expect(sharedMemoryUsable(dir)).to.equal(process.platform === 'linux');
  });
});
