// The spawner's socket framing: whole messages out of chunks of any size.
import { expect } from 'chai';
import { inspect } from 'node:util';
import { deserialize, serialize } from 'node:v8';
import { frame, FrameReader } from '../../lib/pool/wire/frames.js';
import { jsonExact } from '../../lib/pool/wire/json-exact.js';

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

describe('frames: small plain messages as JSON', () => {
  const exactOnes: Record<string, unknown>[] = [
    { type: 'run', id: 1, task: 'noop', args: [] },
    { type: 'run', id: 2, task: 't', args: [1.5, 'é\ud800', null, true, { nested: [0, -1, ''] }], trace: { traceparent: '00-ab' } },
    { type: 'result', id: 3, ok: true, value: undefined, slowlane: 1 },
    Object.assign(Object.create(null) as object, { type: 'more', id: 4, n: 2 }),
  ];
  const notExact: unknown[] = [
    { args: [undefined] }, { args: [1, , 3] }, { v: -0 }, { v: NaN }, { v: Infinity }, { v: 1n }, { v: Buffer.from('a') },
    { v: new Map() }, { v: new Date(0) }, { v: new (class Point { x = 1; })() }, { v: { inner: undefined } },
    { v: Object.assign([1], { extra: true }) }, { v: new Proxy({}, {}) }, new Proxy({ a: 1 }, {}),
    { v: Array.from({ length: 100 }, (_, i) => i) }, { v: 'x'.repeat(5000) }, 'a string', [1, 2], null,
  ];

  it('says which messages JSON carries exactly', () => {
    for (const message of exactOnes) expect(jsonExact(message), JSON.stringify(message)).to.equal(true);
    notExact.forEach((message, i) => expect(jsonExact(message), `case ${i}`).to.equal(false));
  });

  it('writes the exact ones as JSON and the rest as V8, and reads both back as V8 would', () => {
    const messages = [...exactOnes, ...notExact.filter((message) => { try { serialize(message); return true; } catch { return false; } })];
    for (const message of messages) {
      const bytes = frame(message);
      expect(bytes[4], inspect(message)).to.equal(jsonExact(message) ? 0x7b : 0xff);
      const [back] = new FrameReader().push(bytes);
      const expected = deserialize(serialize(message)) as unknown;
      // A field of the message that is undefined is left out, and reads back as undefined.
      if (jsonExact(message)) for (const [key, value] of Object.entries(expected as object)) if (value === undefined) delete (expected as Record<string, unknown>)[key];
      expect(back).to.deep.equal(expected);
    }
    const [negativeZero] = new FrameReader().push(frame({ v: -0 })) as [{ v: number }];
    expect(Object.is(negativeZero.v, -0)).to.equal(true);
  });

  it('fails on a function as V8 does, whichever way the message would have gone', () => {
    expect(() => frame({ type: 'run', args: [() => 1] })).to.throw(/could not be cloned/);
  });
});
