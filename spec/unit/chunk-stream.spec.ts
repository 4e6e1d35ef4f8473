// The reader's side of a stream run, on its own.
import { expect } from 'chai';
import sinon from 'sinon';
import { ChunkStream } from '../../lib/pool/schedule/chunk-stream.js';
import { addCredit, newCredit, pump } from '../../lib/pool/in-child/stream.js';
import { StreamIdleError } from '../../lib/pool/errors.js';

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

  it('gives credit back once half the byte window is read, however few chunks that is', async () => {
    const credits: number[] = [];
    const stream = new ChunkStream<string>({ window: 16, windowBytes: 100 });
    stream.attach((n) => credits.push(n), () => {});
    stream.push('a', 30);
    stream.push('b', 30);
    stream.push('c', 10);
    await stream.next();
    expect(credits, '30 of 100 bytes read: not yet').to.deep.equal([]);
    await stream.next();
    expect(credits, '60 bytes: half the byte window').to.deep.equal([2]);
    expect(stream.buffered).to.equal(1);
  });
});

describe('ChunkStream: a reader that takes nothing for the idle timeout', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers()));
  afterEach(() => clock.restore());

  it('cancels the run once the reader has held its value that long, drops what is buffered, and fails later reads', async () => {
    const cancelled: unknown[] = [];
    const stream = new ChunkStream<number>({ window: 4, idleTimeoutMs: 1000, task: 'export' });
    stream.attach(() => {}, (reason) => cancelled.push(reason));
    stream.push(1);
    stream.push(2);
    expect(await stream.next()).to.deep.equal({ value: 1, done: false });
    clock.tick(999);
    expect(cancelled).to.have.length(0);
    clock.tick(1);
    expect(cancelled).to.have.length(1);
    expect(cancelled[0]).to.be.instanceOf(StreamIdleError).and.include({ code: 'ERR_STREAM_IDLE', task: 'export', status: 504 });
    expect((cancelled[0] as Error).message).to.equal('stream of task "export" cancelled: its reader took no value for 1000 ms (streamIdleTimeoutMs)');
    expect(stream.buffered, 'what nobody reads is dropped').to.equal(0);
    expect(await stream.next().catch((e: unknown) => e)).to.equal(cancelled[0]);
    expect(await stream.ended).to.equal(cancelled[0]);
  });

  it('a reader waiting for a value is not idle, nor one that never stops asking; one that never asks is', async () => {
    const cancelled: unknown[] = [];
    const stream = new ChunkStream<number>({ window: 4, idleTimeoutMs: 1000 });
    stream.attach(() => {}, (reason) => cancelled.push(reason));
    const waiting = stream.next();
    clock.tick(5000);
    stream.push(1);
    expect(await waiting).to.deep.equal({ value: 1, done: false });
    for (let i = 2; i < 6; i += 1) {
      clock.tick(900);
      stream.push(i);
      expect((await stream.next()).value).to.equal(i);
    }
    expect(cancelled, 'asked within the timeout each time').to.have.length(0);
    stream.end();
    clock.tick(5000);
    expect(cancelled, 'an ended run is not cancelled').to.have.length(0);
    expect(await stream.ended).to.equal(undefined);
    const never = new ChunkStream<number>({ window: 4, idleTimeoutMs: 1000 });
    never.attach(() => {}, (reason) => cancelled.push(reason));
    clock.tick(1000);
    expect(cancelled).to.have.length(1);
  });
});

describe('pump (the child\'s side of a stream run)', () => {
  /** An endless iterator counting the values asked of it. */
  const counting = () => {
    const state = { asked: 0 };
    const iterator: Iterator<number> = { next: () => ({ value: state.asked++, done: false }) };
    return { state, iterator };
  };
  const turns = () => new Promise((resolve) => setImmediate(resolve));

  it('stops asking for values once the unread bytes reach the byte window, and goes on as they are read', async () => {
    const { state, iterator } = counting();
    const credit = newCredit(16, 100);
    const sent: number[] = [];
    const pumping = pump(iterator, credit, (value) => (sent.push(value as number), 60));
    await turns();
    expect(sent, '60 bytes unread: one more; 120: it waits').to.deep.equal([0, 1]);
    expect(state.asked, 'the generator is not asked ahead').to.equal(2);
    addCredit(credit, 1);
    await turns();
    expect(sent, 'the first read: 60 bytes unread, one more goes').to.deep.equal([0, 1, 2]);
    expect(credit.unreadBytes).to.equal(120);
    credit.cancelled = true;
    addCredit(credit, 0);
    await pumping;
  });

  it('without a byte window, only the chunk window counts', async () => {
    const { iterator } = counting();
    const credit = newCredit(3);
    const sent: number[] = [];
    const pumping = pump(iterator, credit, (value) => (sent.push(value as number), 50 * 1024 * 1024));
    await turns();
    expect(sent).to.deep.equal([0, 1, 2]);
    credit.cancelled = true;
    addCredit(credit, 0);
    await pumping;
  });
});

