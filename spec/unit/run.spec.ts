// One Run value: made once by checkRun(), with the child's run message and
// the queue's job data as its two wire forms.
import { expect } from 'chai';
import { DeadlineError, TaskTimeoutError } from '../../lib/pool/errors.js';
import { checkRun } from '../../lib/pool/run-options.js';
import { firstLimit, pastDeadline } from '../../lib/pool/run-timing.js';
import { runMessage } from '../../lib/pool/wire/protocol.js';
import { decode, jobData } from '../../lib/queue/wire.js';

const defaults = { timeoutMs: 5000, deadlineMs: Infinity };
const CARRIER = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };

describe('run timing: the rules a pool\'s jobs and a queue\'s requesters share', () => {
  it('a deadline that passes before any child began the run: DeadlineError (503); after: TaskTimeoutError for the deadline (504)', () => {
    const never = pastDeadline({ task: 't', deadlineMs: 800 }, false);
    expect(never).to.be.instanceOf(DeadlineError);
    const begun = pastDeadline({ task: 't', deadlineMs: 800 }, true);
    expect(begun).to.be.instanceOf(TaskTimeoutError);
    expect(begun.message).to.include('800');
  });

  it('once begun, the nearer of the timeout and what is left of the deadline ends it; neither set, nothing does', () => {
    expect(firstLimit({ task: 't', timeoutMs: Infinity, deadlineMs: Infinity }, Infinity)).to.equal(undefined);
    const byTimeout = firstLimit({ task: 't', timeoutMs: 300, deadlineMs: 1000 }, 900)!;
    expect(byTimeout.afterMs).to.equal(300);
    expect(byTimeout.error.message).to.equal(new TaskTimeoutError('t', 300).message);
    const byDeadline = firstLimit({ task: 't', timeoutMs: 300, deadlineMs: 1000 }, 120)!;
    expect(byDeadline.afterMs).to.equal(120);
    expect(byDeadline.error.message).to.equal(new TaskTimeoutError('t', 1000, 'deadline').message);
    expect(firstLimit({ task: 't', timeoutMs: Infinity, deadlineMs: 1000 }, -5)!.afterMs, 'already past: at once').to.equal(0);
  });
});

describe('a run, checked once, and its wire forms', () => {
  it('checkRun() makes the whole run: task, arguments, the pool\'s defaults where the call sets none, a label capped at 200 characters', () => {
    const signal = new AbortController().signal;
    const run = checkRun('add', [1, 2], { signal, deadlineMs: 800, label: `GET /${'x'.repeat(300)}`, maxQueue: 3 }, defaults);
    expect(run).to.include({ task: 'add', timeoutMs: 5000, deadlineMs: 800, maxQueue: 3, signal, trace: undefined });
    expect(run.args).to.deep.equal([1, 2]);
    expect(run.label).to.have.length(200);
    expect(checkRun('add', [], {}, defaults)).to.include({ maxQueue: Infinity, label: undefined });
  });

  it('to a child: id, task and arguments; a stream\'s credit (bytes only when bounded); the span context when there is one', () => {
    const run = checkRun('count', [3], {}, defaults);
    expect(runMessage(7, run, undefined, undefined)).to.deep.equal({ type: 'run', id: 7, task: 'count', args: [3] });
    expect(runMessage(8, run, { window: 16, windowBytes: Infinity }, undefined)).to.deep.equal({ type: 'run', id: 8, task: 'count', args: [3], window: 16 });
    expect(runMessage(9, run, { window: 4, windowBytes: 1024 }, CARRIER)).to.deep.equal({ type: 'run', id: 9, task: 'count', args: [3], window: 4, windowBytes: 1024, trace: CARRIER });
  });

  it('to a worker host: arguments encoded as V8 serialization, no timeout when it has none, the deadline as an epoch time, the label and trace', () => {
    const run = checkRun('hash', [new Map([['a', 1n]])], { timeoutMs: 900, label: 'GET /hash' }, defaults);
    const data = jobData(run, { replyTo: 'r1', deadlineAt: 1_700_000_000_000, idempotent: true, trace: CARRIER });
    expect(decode(data.args)).to.deep.equal([new Map([['a', 1n]])]);
    expect(data).to.deep.include({ replyTo: 'r1', timeoutMs: 900, deadlineAt: 1_700_000_000_000, idempotent: true, label: 'GET /hash', trace: CARRIER });
    const unbounded = jobData(checkRun('hash', [], { timeoutMs: Infinity }, defaults), { replyTo: 'r1', deadlineAt: undefined, idempotent: undefined, trace: undefined });
    expect(unbounded.timeoutMs).to.equal(undefined);
  });
});
