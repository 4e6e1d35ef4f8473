// The spawner's socket framing: whole messages out of chunks of any size.
import { expect } from 'chai';
import { frame, FrameReader } from '../../lib/pool/wire/frames.js';

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

describe('frames: a stranger\'s first frame', () => {
  it('a small reader refuses a longer frame from its 4-byte head, before its body arrives', () => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(257);
    expect(() => new FrameReader(256).push(head)).to.throw(RangeError, /past the limit of 256/);
  });

  it('reads one hello, and hands what came after it to a full-size reader', () => {
    const big = { type: 'ready', tasks: ['x'.repeat(1000)] };
    const bytes = Buffer.concat([frame({ hello: '1:secret' }), frame(big), frame('x')]);
    const hello = new FrameReader(64);
    expect(hello.push(bytes, 1)).to.deep.equal([{ hello: '1:secret' }]);
    expect(hello.handOver().push(Buffer.alloc(0))).to.deep.equal([big, 'x']);
  });

  it('copies a host object (process.env) as fork()\'s channel does: a plain object', () => {
    const [copy] = new FrameReader().push(frame(process.env));
    expect(copy).to.deep.equal({ ...process.env });
  });
});
