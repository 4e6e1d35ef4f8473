// The reader's side of a stream run, on its own.
import { expect } from 'chai';
import { ChunkStream } from '../../lib/pool/chunk-stream.js';

describe('ChunkStream', () => {
  it('delivers in order, gives credit back half a window at a time, and ends after what is buffered', async () => {
    const credits: number[] = [];
    const stream = new ChunkStream<number>(4);
    stream.attach((n) => credits.push(n), () => {});
    for (const value of [1, 2, 3]) stream.push(value);
    stream.end();
    const read: number[] = [];
    for await (const value of stream) read.push(value);
    expect(read).to.deep.equal([1, 2, 3]);
    expect(credits, 'two reads make half a window').to.deep.equal([2]);
  });

  it('several reads waiting at once are each settled in order; return() settles the rest and cancels the run', async () => {
    let closed = 0;
    const stream = new ChunkStream<number>(2);
    stream.attach(() => {}, () => (closed += 1));
    const first = stream.next();
    const second = stream.next();
    stream.push(7);
    expect(await first).to.deep.equal({ value: 7, done: false });
    const third = stream.next();
    await stream.return();
    expect(await second, 'a waiting read ends').to.deep.equal({ value: undefined, done: true });
    expect(await third).to.deep.equal({ value: undefined, done: true });
    expect(closed).to.equal(1);
    stream.push(8);
    expect(await stream.next(), 'nothing after it ended').to.deep.equal({ value: undefined, done: true });
  });

  it('a failure reaches the reader after the values before it', async () => {
    const stream = new ChunkStream<number>(2);
    stream.push(1);
    stream.fail(new RangeError('midway'));
    expect(await stream.next()).to.deep.equal({ value: 1, done: false });
    expect(await stream.next().catch((e: unknown) => (e as Error).message)).to.equal('midway');
  });
});
