// The pieces answers travel through, with fakes for Redis: how a host packs
// and delivers an answer (inline or stored apart), how a requester's inbox
// reads them (one blocking read at a time, big ones fetched, unreadable ones
// failing only their own run), and the bounds on waiting for Redis at close.
import { expect } from 'chai';
import sinon from 'sinon';
import { EventEmitter } from 'node:events';
import { serialize } from 'node:v8';
import { deliverAnswer, failedAnswer, readEntry, type DeliveryRedis } from '../../lib/queue/answer.js';
import { bounded, whileAway } from '../../lib/queue/bounded.js';
import { inboxKey, isUuid, resultKey } from '../../lib/queue/channels.js';
import { Inbox, type InboxReaderRedis, type Outcome } from '../../lib/queue/inbox.js';
import { TaskTimeoutError } from '../../lib/pool/errors.js';

const ID = '0b7c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3';
const RUNNER = '11111111-2222-4333-8444-555555555555';
const LIMITS = { inlineAnswerBytes: 1024, inboxTtlMs: 60_000, resultTtlMs: 30_000 };
/** An error with its stack is over 1 KiB: these keep it inline. */
const ROOMY = { ...LIMITS, inlineAnswerBytes: 64 * 1024 };

/** A fake ioredis pipeline that records its commands and stores what they write. */
function fakeRedis(): DeliveryRedis & { calls: unknown[][]; store: Map<string, Buffer | Buffer[]> } {
  const calls: unknown[][] = [];
  const store = new Map<string, Buffer | Buffer[]>();
  const pipeline = {
    set: (key: string, value: Buffer, px: string, ms: number) => (calls.push(['set', key, px, ms]), store.set(key, value), pipeline),
    rpush: (key: string, value: Buffer) => (calls.push(['rpush', key]), store.set(key, [...((store.get(key) as Buffer[] | undefined) ?? []), value]), pipeline),
    pexpire: (key: string, ms: number) => (calls.push(['pexpire', key, ms]), pipeline),
    exec: async () => calls.map(() => [null, 'OK'] as [null, unknown]),
  };
  return { calls, store, pipeline: () => pipeline };
}

describe('slowlane/queue answers: packed by the host', () => {
  it('a small answer goes into the requester\'s inbox, whose TTL is renewed, in one round trip', async () => {
    const redis = fakeRedis();
    await deliverAnswer(redis, 'q', RUNNER, ID, { value: new Map([['a', 1n]]) }, LIMITS);
    expect(redis.calls).to.deep.equal([['rpush', inboxKey('q', RUNNER)], ['pexpire', inboxKey('q', RUNNER), 60_000]]);
    const [bytes] = redis.store.get(inboxKey('q', RUNNER)) as Buffer[];
    const entry = readEntry(bytes!)!;
    expect(entry).to.include({ id: ID, kind: 'value' });
    expect((entry as { read: () => unknown }).read()).to.deep.equal(new Map([['a', 1n]]));
  });

  it('an answer over inlineAnswerBytes is stored under its own key with a TTL; only its id goes to the inbox', async () => {
    const redis = fakeRedis();
    const big = Buffer.alloc(4096, 7);
    await deliverAnswer(redis, 'q', RUNNER, ID, { value: big }, LIMITS);
    expect(redis.calls).to.deep.equal([['set', resultKey('q', ID), 'PX', 30_000], ['rpush', inboxKey('q', RUNNER)], ['pexpire', inboxKey('q', RUNNER), 60_000]]);
    const [note] = redis.store.get(inboxKey('q', RUNNER)) as Buffer[];
    expect(note!.length, 'the note is the id and a kind byte').to.equal(37);
    expect(readEntry(note!)).to.deep.equal({ id: ID, kind: 'big' });
    const stored = readEntry(redis.store.get(resultKey('q', ID)) as Buffer) as { read: () => unknown };
    expect(Buffer.from(stored.read() as Uint8Array).equals(big)).to.equal(true);
  });

  it('a failure travels with its class; a value V8 cannot serialize fails that run instead of the host', async () => {
    const redis = fakeRedis();
    await deliverAnswer(redis, 'q', RUNNER, ID, failedAnswer(new TaskTimeoutError('t', 100)), ROOMY);
    await deliverAnswer(redis, 'q', RUNNER, ID, { value: () => 1 }, ROOMY);
    const [failed, unsendable] = (redis.store.get(inboxKey('q', RUNNER)) as Buffer[]).map((bytes) => readEntry(bytes)!);
    expect(failed).to.include({ kind: 'error' });
    expect((failed as { read: () => unknown }).read()).to.include({ kind: 'TaskTimeoutError', name: 'TaskTimeoutError' });
    expect(unsendable).to.include({ kind: 'error' });
    expect((unsendable as { read: () => { message: string } }).read().message).to.match(/could not be cloned/);
  });

  it('a Redis error on any command of the delivery is thrown (the job then fails on the host)', async () => {
    const redis = fakeRedis();
    const pipeline = redis.pipeline();
    pipeline.exec = async () => [[null, 1], [new Error('OOM command not allowed'), null]];
    await deliverAnswer({ pipeline: () => pipeline }, 'q', RUNNER, ID, { value: 1 }, LIMITS).then(() => expect.fail('resolved'), (error: Error) => expect(error.message).to.equal('OOM command not allowed'));
  });

  it('bytes that are not an entry (too short, another kind byte) read as undefined; ids are UUIDs only', () => {
    expect(readEntry(Buffer.from('short'))).to.equal(undefined);
    expect(readEntry(Buffer.concat([Buffer.from(ID), Buffer.from('x')]))).to.equal(undefined);
    expect(isUuid(ID)).to.equal(true);
    expect(isUuid('../../etc')).to.equal(false);
    expect(isUuid('forged-1')).to.equal(false);
    expect(isUuid(undefined)).to.equal(false);
  });
});

/** A fake blocking connection: each blmpop waits for the test to push a batch. */
class FakeReader extends EventEmitter implements InboxReaderRedis {
  reads = 0;
  #waiting: Array<{ resolve: (value: [Buffer, Buffer[]] | null) => void; reject: (error: Error) => void }> = [];
  blmpopBuffer(timeout: number, _numkeys: number, key: string): Promise<[Buffer, Buffer[]] | null> {
    expect(timeout, 'blocks until answers come').to.equal(0);
    expect(key).to.equal(inboxKey('q', RUNNER));
    this.reads++;
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }
  push(...entries: Buffer[]): void {
    this.#waiting.shift()!.resolve([Buffer.from('key'), entries]);
  }
  fail(error: Error): void {
    this.#waiting.shift()?.reject(error);
  }
  disconnect(): void {
    this.fail(new Error('Connection is closed.'));
  }
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function packed(id: string, answer: Parameters<typeof deliverAnswer>[4], limits = LIMITS): Promise<{ inbox: Buffer[]; stored: Map<string, Buffer | Buffer[]> }> {
  const redis = fakeRedis();
  await deliverAnswer(redis, 'q', RUNNER, id, answer, limits);
  return { inbox: redis.store.get(inboxKey('q', RUNNER)) as Buffer[], stored: redis.store };
}

describe('slowlane/queue answers: read by the requester\'s inbox', () => {
  let reader: FakeReader;
  let answers: Array<[string, Outcome]>;
  let fetched: Map<string, Buffer | Buffer[]>;
  let inbox: Inbox;

  beforeEach(() => {
    reader = new FakeReader();
    answers = [];
    fetched = new Map();
    inbox = new Inbox({ reader, fetcher: { getdelBuffer: async (key) => { const value = fetched.get(key) as Buffer | undefined; fetched.delete(key); return value ?? null; } }, space: 'q', runnerId: RUNNER, onAnswer: (id, outcome) => answers.push([id, outcome]) });
    inbox.start();
  });
  afterEach(() => inbox.close());

  it('one blocking read at a time; every answer of a batch reaches the callback, in order', async () => {
    const [a, b] = [await packed(ID, { value: 1 }), await packed(ID.replace('0b', '0c'), { value: 2 })];
    expect(reader.reads).to.equal(1);
    reader.push(a.inbox[0]!, b.inbox[0]!);
    await settle();
    expect(answers).to.deep.equal([[ID, { ok: true, value: 1 }], [ID.replace('0b', '0c'), { ok: true, value: 2 }]]);
    expect(reader.reads, 'the next read only after the batch').to.equal(2);
  });

  it('a big answer is fetched and deleted by its key; one gone from Redis fails its run with a clear error', async () => {
    const big = await packed(ID, { value: 'x'.repeat(5000) });
    fetched = big.stored;
    reader.push(big.inbox[0]!);
    await settle();
    await settle();
    expect(answers).to.deep.equal([[ID, { ok: true, value: 'x'.repeat(5000) }]]);
    expect(fetched.has(resultKey('q', ID)), 'deleted when read').to.equal(false);
    reader.push(big.inbox[0]!);
    await settle();
    await settle();
    const [, gone] = answers[1]!;
    expect(gone.ok).to.equal(false);
    expect(((gone as { error: Error }).error).message).to.match(/^its answer was gone from Redis before it was read \(kept 60 s, resultTtlMs\)/);
  });

  it('a failure comes back as its class; a payload this side cannot read fails only its own run, marked unreadable', async () => {
    const failed = await packed(ID, failedAnswer(new TaskTimeoutError('t', 100)), ROOMY);
    const garbled = Buffer.concat([Buffer.from(ID.replace('0b', '0d')), Buffer.from([0x76]), Buffer.from([0xff, 0x0f, 0x99])]);
    reader.push(failed.inbox[0]!, garbled, serialize('not an entry'));
    await settle();
    expect(answers).to.have.length(2);
    expect((answers[0]![1] as { error: Error }).error).to.be.instanceOf(TaskTimeoutError);
    expect(answers[1]![0]).to.equal(ID.replace('0b', '0d'));
    expect(answers[1]![1]).to.include({ ok: false, unreadable: true });
    expect(inbox.foreign, 'bytes that are no entry').to.equal(1);
  });

  it('a dropped connection: the next read waits for ioredis to be ready again, then reads on', async () => {
    reader.fail(new Error('read ECONNRESET'));
    await settle();
    expect(reader.reads).to.equal(1);
    reader.emit('ready');
    await settle();
    expect(reader.reads).to.equal(2);
    reader.push((await packed(ID, { value: 'after' })).inbox[0]!);
    await settle();
    expect(answers).to.deep.equal([[ID, { ok: true, value: 'after' }]]);
  });

  it('closed: the read is cut and no other read starts', async () => {
    inbox.close();
    await settle();
    reader.emit('ready');
    await settle();
    expect(reader.reads).to.equal(1);
    inbox = new Inbox({ reader: new FakeReader(), fetcher: { getdelBuffer: async () => null }, space: 'q', runnerId: RUNNER, onAnswer: () => {} }); // for afterEach
  });
});

describe('slowlane/queue: waiting on Redis with a bound', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers()));
  afterEach(() => clock.restore());

  it('bounded(): true when the work settles (either way) in time, false when the bound comes first', async () => {
    expect(await bounded(Promise.resolve(), 1000)).to.equal(true);
    expect(await bounded(Promise.reject(new Error('x')), 1000)).to.equal(true);
    const never = bounded(new Promise(() => {}), 1000);
    await clock.tickAsync(1000);
    expect(await never).to.equal(false);
  });

  it('whileAway(): resolves only after Redis has been away for the whole bound; a return restarts it', async () => {
    const redis = Object.assign(new EventEmitter(), { status: 'ready' });
    let done = false;
    void whileAway(redis, 2000).then(() => (done = true));
    await clock.tickAsync(5000);
    expect(done, 'connected: never').to.equal(false);
    redis.status = 'reconnecting';
    redis.emit('close');
    await clock.tickAsync(1500);
    redis.status = 'ready';
    redis.emit('ready');
    await clock.tickAsync(1000);
    expect(done, 'it came back within the bound').to.equal(false);
    redis.status = 'reconnecting';
    redis.emit('close');
    await clock.tickAsync(2000);
    expect(done).to.equal(true);
  });

  it('whileAway(): away already when asked, the bound starts at once', async () => {
    const redis = Object.assign(new EventEmitter(), { status: 'connecting' });
    let done = false;
    void whileAway(redis, 2000).then(() => (done = true));
    await clock.tickAsync(2000);
    expect(done).to.equal(true);
  });
});
