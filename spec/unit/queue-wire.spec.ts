// What crosses Redis for slowlane/queue: values by V8 serialization, errors
// with their class; a reason that is not ours, or from a newer host, degrades.
import { expect } from 'chai';
import { ChildStartError, DeadlineError, PoolClosedError, QueueFullError, ResultTooLargeError, TaskCrashedError, TaskError, TaskLoadError, TaskMemoryError, TaskTimeoutError, UnknownTaskError } from '../../lib/pool/errors.js';
import { JobStoppedError } from '../../lib/queue/errors.js';
import { decode, encode, errorFromReason, errorToReason } from '../../lib/queue/wire.js';

describe('slowlane/queue wire format', () => {
  it('values keep what V8 serialization keeps: Map, BigInt, Buffer bytes, Date', () => {
    const value = { map: new Map([[1n, new Date(5)]]), bytes: new Uint8Array([1, 2, 3]) };
    expect(decode(encode(value))).to.deep.equal(value);
  });

  const errors = [
    new TaskError('t', { name: 'RangeError', message: 'boom', props: { code: 'E_X', detail: { why: 1 } } }), new TaskCrashedError('t', 7, null, 'SIGKILL'),
    new TaskTimeoutError('t', 300, 'deadline'), new TaskMemoryError('t', 64, 80), new ResultTooLargeError('t', 10, 5), new DeadlineError('t', 5),
    new QueueFullError('t', 1), new TaskLoadError('file:///x.js', 'no'), new UnknownTaskError(['a'], 'file:///x.js', ['b']), new ChildStartError('EAGAIN', 'spawn'), new PoolClosedError(),
    new JobStoppedError('t', 'cancelled'), new JobStoppedError('t', 'lockLost'),
  ];
  for (const error of errors) {
    it(`${error.constructor.name}${error instanceof JobStoppedError ? ` (${error.reason})` : ''} comes back as itself, with its fields`, () => {
      const back = errorFromReason(errorToReason(error))!;
      expect(back).to.be.instanceOf(error.constructor);
      expect(back.name).to.equal(error.name);
      expect(back.message).to.equal(error.message);
      for (const key of Object.keys(error).filter((k) => k !== 'headers')) expect((back as unknown as Record<string, unknown>)[key], key).to.deep.equal((error as unknown as Record<string, unknown>)[key]);
    });
  }

  it('a reason that is not ours (BullMQ\'s own, garbage) is undefined; a class this version does not know is a plain Error', () => {
    expect(errorFromReason('job stalled more than allowable limit')).to.equal(undefined);
    expect(errorFromReason('slowlane-error:not base64 v8')).to.equal(undefined);
    const future = errorFromReason(`slowlane-error:${encode({ kind: 'FutureError', name: 'FutureError', message: 'from a newer host', props: { code: 'E_NEW' } })}`)!;
    expect(future.constructor).to.equal(Error);
    expect(future).to.include({ name: 'FutureError', message: 'from a newer host', code: 'E_NEW' });
  });
});
