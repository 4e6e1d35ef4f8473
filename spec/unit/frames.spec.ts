// The spawner's socket framing: whole messages out of chunks of any size.
import { expect } from 'chai';
import { frame, FrameReader } from '../../lib/pool/spawner/frames.js';

describe('frames (the spawned child\'s socket channel)', () => {
  it('reads messages split anywhere and several in one chunk, values as V8 serializes them', () => {
    const messages = [{ type: 'ready', tasks: ['a'] }, { type: 'result', id: 1, ok: true, value: new Map([[1n, Buffer.alloc(70_000, 7)]]) }, 'x'];
    const bytes = Buffer.concat(messages.map(frame));
    for (const size of [1, 3, 4, 5, 1000, bytes.length]) {
      const reader = new FrameReader();
      const got: unknown[] = [];
      for (let at = 0; at < bytes.length; at += size) got.push(...reader.push(bytes.subarray(at, at + size)));
      expect(got, `chunks of ${size}`).to.deep.equal(messages);
    }
  });

  it('refuses a length past the limit: a stream that is not ours', () => {
    expect(() => new FrameReader().push(Buffer.from([0xff, 0xff, 0xff, 0xff, 0]))).to.throw(RangeError, /past the limit/);
  });
});
