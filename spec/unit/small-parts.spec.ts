import { expect } from 'chai';
import { Backoff } from '../../lib/pool/backoff.js';
import { TaskQueue } from '../../lib/pool/task-queue.js';
import { serializeError } from '../../lib/pool/serialized-error.js';
import { toModuleUrl } from '../../lib/pool/pool-options.js';
import { isChildMessage } from '../../lib/pool/protocol.js';
import { factorial, heavyLifting } from '../../lib/demo/heavy-lifting.js';

describe('small parts', () => {
  it('Backoff doubles from its initial delay up to its cap, and resets', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 500 });
    expect([1, 2, 3, 4, 5].map(() => backoff.fail())).to.deep.equal([100, 200, 400, 500, 500]);
    backoff.reset();
    expect(backoff.fail()).to.equal(100);
    expect(backoff.failures).to.equal(1);
  });

  it('TaskQueue is a bounded FIFO with removal from the middle', () => {
    const queue = new TaskQueue<string>(3);
    queue.push('a');
    queue.push('b');
    queue.push('c');
    expect(queue.full).to.equal(true);
    expect(() => queue.push('d')).to.throw(RangeError);
    expect(queue.remove('b')).to.equal(true);
    expect(queue.peek()).to.equal('a');
    expect(queue.drain()).to.deep.equal(['a', 'c']);
    expect(queue.size).to.equal(0);
  });

  it('serializeError keeps name, message, stack and cloneable own properties', () => {
    const error = Object.assign(new TypeError('bad'), { code: 'E_BAD', when: new Date(0), fn: () => {} });
    const out = serializeError(error);
    expect(out).to.include({ name: 'TypeError', message: 'bad' });
    expect(out.stack).to.match(/^TypeError: bad/);
    expect(out.props).to.deep.equal({ code: 'E_BAD', when: new Date(0) });
    expect(serializeError('a string').message).to.equal('task threw a non-Error value: a string');
  });

  it('toModuleUrl takes paths and file URLs', () => {
    expect(toModuleUrl('/a/b.js')).to.equal('file:///a/b.js');
    expect(toModuleUrl('file:///a/b.js')).to.equal('file:///a/b.js');
    expect(toModuleUrl(new URL('file:///c.js'))).to.equal('file:///c.js');
    expect(toModuleUrl('rel.js')).to.equal(`file://${process.cwd()}/rel.js`);
  });

  it('isChildMessage accepts only objects with a type', () => {
    expect(isChildMessage({ type: 'ready' })).to.equal(true);
    expect(isChildMessage(null)).to.equal(false);
    expect(isChildMessage('ready')).to.equal(false);
  });

  it('heavyLifting computes factorials and reports seconds', () => {
    expect(factorial(0)).to.equal(1n);
    expect(factorial(5)).to.equal(120n);
    expect(factorial(20)).to.equal(2432902008176640000n);
    const seconds = heavyLifting(50);
    expect(seconds).to.be.a('number').and.be.at.least(0).and.below(5);
  });
});
