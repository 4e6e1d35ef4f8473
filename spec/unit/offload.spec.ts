// offload() and failureResponse() over a faked pool, through a real node:http server.
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sinon from 'sinon';
import { failureJson, failureResponse } from '../../lib/http/failure-response.js';
import { HttpError } from '../../lib/http/http-error.js';
import { offload, type RequestHandler } from '../../lib/http/offload.js';
import { ChildStartError, DeadlineError, PoolClosedError, QueueFullError, ResultTooLargeError, SlowlaneError, TaskCrashedError, TaskError, TaskLoadError, TaskMemoryError, TaskTimeoutError, UnknownTaskError } from '../../lib/pool/errors.js';
import type { TaskRunner } from '../../lib/pool/task-types.js';
import { request } from '../support/http.js';

describe('offload() (faked pool)', () => {
  let server: http.Server;
  let base: string;
  let run: sinon.SinonStub;
  let handler: RequestHandler;
  const pool = (): TaskRunner => ({ run } as unknown as TaskRunner);

  beforeEach(async () => {
    run = sinon.stub();
    server = http.createServer((req, res) => handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(() => new Promise((resolve) => server.close(resolve)));

  it('runs the task with the arguments argsFrom reads from the request, with a signal and the route\'s timeout', async () => {
    run.resolves('hello\n');
    handler = offload(pool(), 'greet', (req) => [new URL(req.url!, 'http://x').searchParams.get('name')], { timeoutMs: 1234 });
    const answer = await request(`${base}/?name=ada`);
    expect(answer).to.include({ status: 200, body: 'hello\n' });
    expect(answer.headers['content-type']).to.equal('text/plain; charset=utf-8');
    const [task, args, options] = run.firstCall.args;
    expect([task, args]).to.deep.equal(['greet', ['ada']]);
    expect(options.signal).to.be.instanceOf(AbortSignal);
    expect(options.timeoutMs).to.equal(1234);
  });

  it('carries the route\'s deadline and the request (method and URL) as the run\'s label', async () => {
    run.resolves('ok');
    handler = offload(pool(), 't', () => [], { deadlineMs: 2500 });
    await request(`${base}/report?id=7`);
    const options = run.firstCall.args[2];
    expect(options.deadlineMs).to.equal(2500);
    expect(options.label).to.equal('GET /report?id=7');
    expect(options.timeoutMs).to.equal(undefined);
  });

  it('a bad timeoutMs or deadlineMs is refused when the handler is made, not on every request', () => {
    expect(() => offload(pool(), 't', () => [], { timeoutMs: -1 })).to.throw(RangeError, 'offload option timeoutMs');
    expect(() => offload(pool(), 't', () => [], { deadlineMs: Number.NaN })).to.throw(RangeError, 'offload option deadlineMs');
    expect(run.called).to.equal(false);
  });

  it('bounds each run\'s queue: 100 by default, or its maxQueue option; a bad one is refused at once', async () => {
    run.resolves('ok');
    handler = offload(pool(), 't', () => []);
    await request(base);
    handler = offload(pool(), 't', () => [], { maxQueue: 7 });
    await request(base);
    expect(run.getCalls().map((call) => call.args[2].maxQueue)).to.deep.equal([100, 7]);
    expect(() => offload(pool(), 't', () => [], { maxQueue: 1.5 })).to.throw(RangeError, 'option maxQueue of offload() must be a whole number from 0 to 9007199254740991 or Infinity, got 1.5');
  });

  const bodies: [string, unknown, number, string | undefined, string][] = [
    ['a string as text/plain', 'text', 200, 'text/plain; charset=utf-8', 'text'],
    ['a Buffer as octet-stream', Buffer.from('bytes'), 200, 'application/octet-stream', 'bytes'],
    ['an object as JSON', { a: 1, b: [true, null] }, 200, 'application/json; charset=utf-8', '{"a":1,"b":[true,null]}\n'],
    ['a number as JSON', 42, 200, 'application/json; charset=utf-8', '42\n'],
    ['undefined as 204 with no body', undefined, 204, undefined, ''],
    ['a BigInt as a 500 that says what to do', 10n, 500, 'text/plain; charset=utf-8', 'task result cannot be sent as JSON; return plain data or set the render option\n'],
  ];
  for (const [what, value, status, type, body] of bodies) {
    it(`answers ${what}`, async () => {
      run.resolves(value);
      handler = offload(pool(), 't', () => []);
      const answer = await request(base);
      expect(answer.status).to.equal(status);
      expect(answer.headers['content-type']).to.equal(type);
      expect(answer.body).to.equal(body);
    });
  }

  it('render shapes the body on the loop; contentType overrides the type', async () => {
    run.resolves(0.5);
    handler = offload(pool(), 't', () => [], { render: (seconds, req) => `${req.url} took ${String(seconds)} s\n`, contentType: 'text/x-report' });
    const answer = await request(`${base}/r`);
    expect(answer.body).to.equal('/r took 0.5 s\n');
    expect(answer.headers['content-type']).to.equal('text/x-report');
  });

  it('bad input: an HttpError from argsFrom answers its status and line, and the task never runs', async () => {
    handler = offload(pool(), 't', () => {
      throw new HttpError(400, 'missing argument: id');
    });
    const answer = await request(base);
    expect(answer).to.include({ status: 400, body: 'missing argument: id\n' });
    expect(run.called).to.equal(false);
  });

  it('takes errors from other libraries that carry a status (http-errors style), async argsFrom too', async () => {
    handler = offload(pool(), 't', async () => {
      throw Object.assign(new Error('I am a teapot'), { status: 418 });
    });
    expect(await request(base)).to.include({ status: 418, body: 'I am a teapot\n' });
    handler = offload(pool(), 't', () => {
      throw Object.assign(new Error('db password wrong'), { statusCode: 502, expose: false });
    });
    expect(await request(base), 'a 5xx keeps its message to itself').to.include({ status: 502, body: 'internal server error\n' });
  });

  it('a task failure answers through failureResponse, with its headers', async () => {
    run.rejects(new QueueFullError('t', 5));
    handler = offload(pool(), 't', () => []);
    const answer = await request(base);
    expect(answer.status).to.equal(503);
    expect(answer.headers['retry-after']).to.equal('1');
  });

  it('a client that goes away aborts the run, and nothing is written', async () => {
    let signal: AbortSignal | undefined;
    run.callsFake((_task: string, _args: unknown[], options: { signal: AbortSignal }) => {
      signal = options.signal;
      return new Promise((_resolve, reject) => signal!.addEventListener('abort', () => reject(signal!.reason)));
    });
    handler = offload(pool(), 't', () => []);
    const controller = new AbortController();
    const pending = request(base, { signal: controller.signal }).catch((e: unknown) => e);
    while (signal === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(signal.aborted).to.equal(false);
    controller.abort();
    expect(((await pending) as Error).name).to.equal('AbortError');
    while (!signal.aborted) await new Promise((resolve) => setTimeout(resolve, 5));
  });

  it('onFailure sees the server\'s failures (5xx) in full, never the client\'s own 4xx', async () => {
    const onFailure = sinon.spy();
    const crash = new TaskCrashedError('t', 7, null, 'SIGKILL');
    run.rejects(crash);
    handler = offload(pool(), 't', (req) => {
      if (req.url === '/bad') throw new HttpError(400, 'missing argument: id');
      return [];
    }, { onFailure });
    expect((await request(`${base}/bad`)).status).to.equal(400);
    expect(onFailure.called).to.equal(false);
    expect((await request(`${base}/ok`)).status).to.equal(500);
    expect(onFailure.callCount).to.equal(1);
    expect(onFailure.firstCall.args[0]).to.equal(crash);
  });

  it("failureBody 'json' answers failures as JSON with status, error, code and the same message", async () => {
    run.rejects(new TaskTimeoutError('t', 50));
    handler = offload(pool(), 't', (req) => {
      if (req.url === '/bad') throw new HttpError(400, 'missing argument: id');
      return [];
    }, { failureBody: 'json' });
    const timeout = await request(`${base}/ok`);
    expect(timeout.status).to.equal(504);
    expect(timeout.headers['content-type']).to.equal('application/json; charset=utf-8');
    expect(JSON.parse(timeout.body)).to.deep.equal({ status: 504, error: 'Gateway Timeout', code: 'ERR_TASK_TIMEOUT', message: 'task "t" timed out after 50 ms; its child process was killed' });
    const bad = await request(`${base}/bad`);
    expect(JSON.parse(bad.body)).to.deep.equal({ status: 400, error: 'Bad Request', message: 'missing argument: id' });
  });

  it("failures 'next' hands the error itself to Express's next(); without a next it answers", async () => {
    const full = new QueueFullError('t', 5);
    run.rejects(full);
    const next = sinon.spy();
    const routed = offload(pool(), 't', () => [], { failures: 'next' });
    handler = (req, res) => {
      if (req.url === '/express') {
        routed(req, res, (error) => {
          next(error);
          res.writeHead(599).end('from the error middleware\n');
        });
      } else routed(req, res);
    };
    expect(await request(`${base}/express`)).to.include({ status: 599, body: 'from the error middleware\n' });
    expect(next.firstCall.args[0]).to.equal(full);
    expect(await request(`${base}/plain`)).to.include({ status: 503 });
  });

  it('tells a pool that can check names which task each route runs', () => {
    const expectTask = sinon.spy();
    offload({ run, expectTask } as unknown as TaskRunner, 'hashPassword', () => []);
    expect(expectTask.calledOnceWithExactly('hashPassword')).to.equal(true);
  });

  it('refuses an argsFrom that is not a function at once', () => {
    expect(() => offload(pool(), 't', 'nope' as never)).to.throw(TypeError, /argsFrom must be a function/);
  });
});

describe('failureResponse()', () => {
  const cases: [string, unknown, number, string, Record<string, string>][] = [
    ['TaskError', new TaskError('t', { name: 'TypeError', message: 'bad\nthing', props: {} }), 500, 'task "t" failed: TypeError: bad thing\n', {}],
    ['TaskCrashedError, without its pid', new TaskCrashedError('t', 7, 9, null), 500, 'task "t" crashed: its child process exited with code 9 before answering\n', {}],
    ['TaskLoadError, without its path', new TaskLoadError('file:///srv/app/x.js', 'Error: no'), 500, 'the server cannot load its tasks module; see its log\n', {}],
    ['TaskError, without paths', new TaskError('t', { name: 'Error', message: "ENOENT: no such file or directory, open '/srv/app/data/x.json'", props: {} }), 500, 'task "t" failed: Error: ENOENT: no such file or directory, open \'<path>\'\n', {}],
    ['TaskError carrying a status', new TaskError('t', { name: 'HTTPError', message: 'upstream said 404', props: { status: 404, headers: { location: '/x' } } }), 500, 'task "t" failed: HTTPError: upstream said 404\n', {}],
    ['DeadlineError', new DeadlineError('t', 2000), 503, 'server busy: no child was free before the request\'s deadline; retry in a second\n', { 'retry-after': '1' }],
    ['ChildStartError (EMFILE, EAGAIN)', new ChildStartError('EMFILE', 'spawn EMFILE'), 503, 'server busy: it cannot start another process right now; retry in a second\n', { 'retry-after': '1' }],
    ['an error with unsafe headers', Object.assign(new Error('nope'), { status: 409, headers: { 'x-ok': 'yes', 'x-bad': 'a\nb', 'x-num': 3 } }), 409, 'nope\n', { 'x-ok': 'yes' }],
    ['TaskTimeoutError', new TaskTimeoutError('t', 50), 504, 'task "t" timed out after 50 ms; its child process was killed\n', {}],
    ['QueueFullError', new QueueFullError('t', 1), 503, 'server busy: too many slow requests are waiting; retry in a second\n', { 'retry-after': '1' }],
    ['PoolClosedError', new PoolClosedError(), 503, 'server is shutting down; retry on another instance\n', { 'retry-after': '1' }],
    ['HttpError', new HttpError(503, 'down for\nmaintenance', { 'retry-after': '60' }), 503, 'down for maintenance\n', { 'retry-after': '60' }],
    ['anything else', new Error('secret'), 500, 'internal server error\n', {}],
    ['a thrown string', 'oops', 500, 'internal server error\n', {}],
    ['a status out of range', Object.assign(new Error('x'), { status: 200 }), 500, 'internal server error\n', {}],
    ['UnknownTaskError, without the module or its exports', new UnknownTaskError(['hashPasword'], 'file:///srv/app/tasks.js', ['hashPassword']), 500, 'task "hashPasword" is not a task of the server\'s tasks module; see its log\n', {}],
    ['ResultTooLargeError', new ResultTooLargeError('t', 3 * 1024 * 1024, 1024 * 1024), 500, 'task "t" returned 3 MiB, more than its allowance of 1 MiB (maxResultBytes); return less, or stream it in parts\n', {}],
  ];
  for (const [name, error, status, body, headers] of cases) {
    it(`${name} -> ${status}`, () => {
      expect(failureResponse(error)).to.deep.equal({ status, body, headers });
    });
  }
});

describe("the pool's errors carry their HTTP status (status, statusCode, expose, headers)", () => {
  const errors: SlowlaneError[] = [
    new TaskError('t', { name: 'Error', message: 'x', props: {} }), new TaskCrashedError('t', 1, 1, null), new TaskTimeoutError('t', 5),
    new TaskMemoryError('t', 64, 80), new ResultTooLargeError('t', 10, 5), new DeadlineError('t', 5), new QueueFullError('t', 1),
    new TaskLoadError('file:///x.js', 'no'), new UnknownTaskError(['a'], 'file:///x.js', []), new ChildStartError('EAGAIN', 'spawn'), new PoolClosedError(),
  ];
  for (const error of errors) {
    it(`${error.name}: the same status and headers failureResponse answers with`, () => {
      const failure = failureResponse(error);
      expect(error).to.be.instanceOf(SlowlaneError);
      expect([error.status, error.statusCode]).to.deep.equal([failure.status, failure.status]);
      expect({ ...error.headers }).to.deep.equal(failure.headers);
      // Only a message with no path, pid or module detail is marked safe to show.
      expect(error.expose).to.equal(!(error instanceof TaskError || error instanceof TaskCrashedError || error instanceof TaskLoadError || error instanceof UnknownTaskError || error instanceof ChildStartError));
    });
  }

  it('a TaskError is a 500 whatever status the task\'s own error carried; its other properties stay', () => {
    const error = new TaskError('t', { name: 'HTTPError', message: 'upstream said 404', props: { status: 404, statusCode: 404, expose: true, url: 'https://x' } });
    expect([error.status, error.statusCode, error.expose, error['url']]).to.deep.equal([500, 500, false, 'https://x']);
  });

  it('failureJson says the same as failureResponse, as JSON', () => {
    const failure = failureJson(new QueueFullError('t', 1));
    expect(failure.status).to.equal(503);
    expect(failure.headers).to.deep.equal({ 'retry-after': '1' });
    expect(JSON.parse(failure.body)).to.deep.equal({ status: 503, error: 'Service Unavailable', code: 'ERR_QUEUE_FULL', message: 'server busy: too many slow requests are waiting; retry in a second' });
  });
});
