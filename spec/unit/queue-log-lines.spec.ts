// A worker host's log lines: a job's name and label come from Redis, where
// anyone who can write to the queue chooses them; none may write a line of
// its own, move a terminal's cursor or flip the line's direction.
import { expect } from 'chai';
import { JobStoppedError, lostMidRun } from '../../lib/queue/errors.js';
import { nameForLog, quotedForLog } from '../../lib/queue/log-text.js';
import { jobLine } from '../../lib/queue/worker-host.js';

describe('slowlane/queue: a worker host\'s log lines', () => {
  it('an ordinary job: ok, the task, the time and the quoted label, as before', () => {
    expect(jobLine({ task: 'heavyLifting', label: 'GET /slow_pool?id=1', ms: 412.314, error: undefined })).to.equal('ok heavyLifting 412.31ms "GET /slow_pool?id=1"');
    expect(jobLine({ task: 'add', label: undefined, ms: 1, error: new JobStoppedError('add', 'cancelled') })).to.equal('JobStoppedError add 1.00ms');
  });

  it('a forged job name or label with a newline, an escape sequence, a C1 control or a bidi override stays one line of printable text', () => {
    const line = jobLine({ task: 'x\nok forged 1.00ms', label: 'GET /\u001b[2J\u009b31m\u202eevil\u2028', ms: 2, error: { name: 'Bad\rName' } });
    expect(line.split('\n')).to.have.length(1);
    expect(line).to.not.match(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
    expect(line).to.equal('"Bad\\rName" "x\\nok forged 1.00ms" 2.00ms "GET /\\u001b[2J\\u009b31m\\u202eevil\\u2028"');
  });

  it('a name with a space is quoted, so the line keeps its fields; a long one is cut and marked', () => {
    expect(nameForLog('a task')).to.equal('"a task"');
    expect(nameForLog('orders.report')).to.equal('orders.report');
    expect(quotedForLog('y'.repeat(250))).to.equal(`"${'y'.repeat(200)}...(50 more)"`);
  });

  it('a job stopped on its host says why, in words, with a status that says retry', () => {
    expect(new JobStoppedError('spin', 'cancelled')).to.include({ code: 'ERR_QUEUE_JOB_STOPPED', status: 503, name: 'JobStoppedError', reason: 'cancelled' });
    expect(new JobStoppedError('spin', 'cancelled').message).to.match(/^task "spin" was stopped on its worker host: a cancel for its job came on the queue's cancel channel/);
    expect(new JobStoppedError('spin', 'lockLost').message).to.match(/^task "spin" was stopped on its worker host: the host could not renew its lock on the job/);
    expect(lostMidRun('spin').message).to.match(/^task "spin" was lost mid-run: the worker host that held it died or lost its lock/);
  });
});
