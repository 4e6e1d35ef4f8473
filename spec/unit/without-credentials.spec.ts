// The credential scrubber of failure bodies: passwords in connection strings
// are masked, everything else is left as it was written.
import { expect } from 'chai';
import { failureJson, failureResponse } from '../../lib/http/failure-response.js';
import { HttpError } from '../../lib/http/http-error.js';
import { withoutCredentials } from '../../lib/http/without-credentials.js';
import { TaskError } from '../../lib/pool/errors.js';
import { serializeError } from '../../lib/pool/wire/serialized-error.js';

describe('withoutCredentials', () => {
  it('masks the password of scheme://user:pass@host, keeping the user, host, port and path', () => {
    expect(withoutCredentials('cannot connect to redis://u:pw@10.0.0.1:6379/0')).to.equal('cannot connect to redis://u:***@10.0.0.1:6379/0');
    expect(withoutCredentials('postgres://user:secret@db/x failed')).to.equal('postgres://user:***@db/x failed');
    expect(withoutCredentials('AMQP://Guest:Guest@rabbit:5672')).to.equal('AMQP://Guest:***@rabbit:5672');
  });

  it('masks scheme://:pass@host (a password alone)', () => {
    expect(withoutCredentials('redis://:hunter2@cache:6379')).to.equal('redis://:***@cache:6379');
  });

  it('handles a scheme with + and a query (mongodb+srv://)', () => {
    expect(withoutCredentials('bad auth mongodb+srv://admin:s3cr3t@cluster0.ab1cd.mongodb.net/db?retryWrites=true'))
      .to.equal('bad auth mongodb+srv://admin:***@cluster0.ab1cd.mongodb.net/db?retryWrites=true');
  });

  it('masks a raw @ in a password up to the host, and a userinfo without a password (a token) whole', () => {
    expect(withoutCredentials('mysql://root:p@ss@db:3306/app')).to.equal('mysql://root:***@db:3306/app');
    expect(withoutCredentials('clone https://ghp_abc123@github.com/o/r.git')).to.equal('clone https://***@github.com/o/r.git');
  });

  it('masks every URL of the line', () => {
    expect(withoutCredentials('redis://a:1@h1 then amqp://b:2@h2')).to.equal('redis://a:***@h1 then amqp://b:***@h2');
  });

  it('leaves URLs without credentials, an @ past the host, and email addresses alone', () => {
    for (const text of [
      'GET https://example.com:8443/a/b?q=1#top failed',
      'see https://example.com/users/bob@example.com',
      'https://example.com/?to=bob@example.com',
      'mail bob@example.com or mailto:alice@example.org',
      'ratio 1/2 at 10:30, user:pass not a URL',
    ]) expect(withoutCredentials(text), text).to.equal(text);
  });
});

describe('failure bodies without credentials', () => {
  const taskError = (message: string): TaskError => new TaskError('connect', serializeError(new Error(message)));

  it('a task\'s error, as text and as JSON', () => {
    const error = taskError('cannot connect to redis://u:pw@10.0.0.1:6379/0');
    expect(failureResponse(error).body).to.equal('task "connect" failed: Error: cannot connect to redis://u:***@10.0.0.1:6379/0\n');
    expect(JSON.parse(failureJson(error).body).message).to.equal('task "connect" failed: Error: cannot connect to redis://u:***@10.0.0.1:6379/0');
  });

  it('an exposed HttpError\'s message too', () => {
    expect(failureResponse(new HttpError(400, 'bad upstream postgres://user:secret@db/x')).body).to.equal('bad upstream postgres://user:***@db/x\n');
  });
});
