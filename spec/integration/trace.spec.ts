// Traces across processes, with OpenTelemetry's SDK and its in-memory
// exporter in this process, and real children whose tasks module sets up
// its own provider (spec/fixtures/trace-tasks.ts): a span per run under the
// caller's span, ended once however the run ends; the spans a task makes in
// its child join the trace; diagnostics_channel events for each run.
import { context, ROOT_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { expect } from 'chai';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { setTimeout as delay } from 'node:timers/promises';
import { ChildPool } from '../../lib/pool/child-pool.js';
import { QueueFullError, TaskCrashedError, TaskTimeoutError } from '../../lib/pool/errors.js';
import type { RunEvent } from '../../lib/trace/run-channels.js';
import type { SeenSpan } from '../fixtures/trace-tasks.js';
import { runSpans, setUpTracing, TRACE_TASKS, underSpan } from '../support/tracing.js';

type Tasks = typeof import('../fixtures/trace-tasks.js');

describe('traces: OpenTelemetry spans for runs, carried into children', function () {
  this.timeout(40_000);
  let tracing: ReturnType<typeof setUpTracing>;
  let pool: ChildPool<Tasks>;

  before(async () => {
    tracing = setUpTracing();
    pool = new ChildPool<Tasks>({ tasks: TRACE_TASKS, niceness: 0, maxChildren: 1, streamWindow: 1, killGraceMs: 200 });
    await pool.ready();
  });
  after(async () => {
    await pool?.destroy();
    await tracing?.undo();
  });
  beforeEach(() => tracing.exporter.reset());

  it('a run under an active span: one span, its child, with task, label, queue wait, child pid and outcome', async () => {
    const { span, value: pid } = await underSpan(() => pool.run('pid', [], { label: 'GET /pid' }));
    const [run, ...more] = runSpans(tracing.exporter);
    expect(more).to.have.length(0);
    expect(run!.name).to.equal('slowlane.run pid');
    expect(run!.spanContext().traceId).to.equal(span.spanContext().traceId);
    expect(run!.parentSpanContext?.spanId).to.equal(span.spanContext().spanId);
    expect(run!.attributes).to.include({ 'slowlane.task': 'pid', 'slowlane.label': 'GET /pid', 'slowlane.stream': false, 'slowlane.outcome': 'completed', 'slowlane.child.pid': pid });
    expect(run!.attributes['slowlane.queue_wait_ms']).to.be.a('number').and.at.least(0);
    expect(run!.status.code).to.equal(SpanStatusCode.UNSET);
    expect(run!.ended).to.equal(true);
  });

  it('a run with no active span is a root span of its own trace', async () => {
    expect(await context.with(ROOT_CONTEXT, () => pool.run('add', [1, 2]))).to.equal(3);
    const [run, ...more] = runSpans(tracing.exporter);
    expect(more).to.have.length(0);
    expect(run!.parentSpanContext).to.equal(undefined);
  });

  it('a failing task: status ERROR, error.type its class, the exception recorded', async () => {
    const failed = await underSpan(() => pool.run('fail', ['no good']).catch((e: unknown) => e));
    expect(failed.value).to.have.property('message', 'no good');
    const [run, ...more] = runSpans(tracing.exporter, 'fail');
    expect(more).to.have.length(0);
    expect(run!.status).to.deep.equal({ code: SpanStatusCode.ERROR, message: 'no good' });
    expect(run!.attributes).to.include({ 'slowlane.outcome': 'failed', 'error.type': 'RangeError' });
    expect(run!.events.map((e) => e.name)).to.deep.equal(['exception']);
  });

  it('a timeout, an abort and a crash: one span each, ended with the outcome, and none after', async () => {
    const late = await underSpan(() => pool.run('sleep', [30_000], { timeoutMs: 200 }).catch((e: unknown) => e));
    expect(late.value).to.be.instanceOf(TaskTimeoutError);
    const controller = new AbortController();
    const aborted = pool.run('sleep', [30_000], { signal: controller.signal }).catch((e: unknown) => e);
    // Aborted once a child has it (its span has a pid then).
    for (let i = 0; i < 200 && pool.stats().running === 0; i += 1) await delay(10);
    controller.abort();
    expect(await aborted).to.have.property('name', 'AbortError');
    const crashed = await pool.run('exit', [3]).catch((e: unknown) => e);
    expect(crashed).to.be.instanceOf(TaskCrashedError);
    // The killed children's exits come after the answers: nothing more may end then.
    expect(await pool.run('add', [2, 2])).to.equal(4);
    await delay(300);
    const spans = runSpans(tracing.exporter);
    expect(spans.map((s) => [s.name, s.attributes['slowlane.outcome'], s.attributes['error.type'], s.status.code])).to.deep.equal([
      ['slowlane.run sleep', 'timedOut', 'TaskTimeoutError', SpanStatusCode.ERROR],
      ['slowlane.run sleep', 'aborted', 'AbortError', SpanStatusCode.ERROR],
      ['slowlane.run exit', 'crashed', 'TaskCrashedError', SpanStatusCode.ERROR],
      ['slowlane.run add', 'completed', undefined, SpanStatusCode.UNSET],
    ]);
    expect(spans.slice(0, 3).every((s) => typeof s.attributes['slowlane.child.pid'] === 'number')).to.equal(true);
  });

  it('a run refused because the queue is full: one span, outcome rejected, no child pid', async () => {
    const holding = pool.run('sleep', [300]);
    const refused = await pool.run('add', [1, 1], { maxQueue: 0 }).catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(QueueFullError);
    await holding;
    const [run, ...more] = runSpans(tracing.exporter, 'add');
    expect(more).to.have.length(0);
    expect(run!.attributes).to.include({ 'slowlane.outcome': 'rejected', 'error.type': 'QueueFullError' });
    expect(run!.attributes).to.not.have.property('slowlane.child.pid');
  });

  it('the span a task makes in its child is a child of the run span, after an await too', async () => {
    const { span, value: seen } = await underSpan(() => pool.run('spanInTask'));
    const [run] = runSpans(tracing.exporter, 'spanInTask');
    expect(seen).to.deep.include({ traceId: span.spanContext().traceId, parentSpanId: run!.spanContext().spanId, parentIsRemote: true });
  });

  it('a stream run: the span made at each step of the generator is a child of the run span', async () => {
    const { span, value: seen } = await underSpan(async () => {
      const steps: SeenSpan[] = [];
      for await (const step of pool.stream('spansInStream', [4])) {
        steps.push(step);
        await delay(20); // a slow reader: the child waits for credit between steps
      }
      return steps;
    });
    const [run, ...more] = runSpans(tracing.exporter, 'spansInStream');
    expect(more).to.have.length(0);
    expect(run!.attributes).to.include({ 'slowlane.stream': true, 'slowlane.outcome': 'completed' });
    expect(seen).to.have.length(4);
    for (const step of seen) expect(step).to.deep.include({ traceId: span.spanContext().traceId, parentSpanId: run!.spanContext().spanId });
  });

  it('run option trace: the run span is a child of the span it names, not of the active one', async () => {
    const named = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1, traceState: 'vendor=1' };
    const { span } = await underSpan(() => pool.run('add', [1, 1], { trace: named }));
    const [run] = runSpans(tracing.exporter, 'add');
    expect(run!.spanContext().traceId).to.equal(named.traceId).and.not.equal(span.spanContext().traceId);
    expect(run!.parentSpanContext).to.include({ spanId: named.spanId, isRemote: true });
    expect(run!.spanContext().traceState?.get('vendor')).to.equal('1');
    const bad = await pool.run('add', [1, 1], { trace: { traceId: 'nope', spanId: 'b7ad6b7169203331', traceFlags: 1 } }).catch((e: unknown) => e);
    expect(bad).to.be.instanceOf(TypeError).with.property('message').that.matches(/^run option trace must be/);
  });

  it('diagnostics_channel: slowlane:run:start and slowlane:run:end, the same object, completed at the end', async () => {
    const seen: [string, RunEvent, Partial<RunEvent>][] = [];
    const onStart = (message: unknown): void => void seen.push(['start', message as RunEvent, { ...(message as RunEvent) }]);
    const onEnd = (message: unknown): void => void seen.push(['end', message as RunEvent, { ...(message as RunEvent) }]);
    subscribe('slowlane:run:start', onStart);
    subscribe('slowlane:run:end', onEnd);
    try {
      const pid = await pool.run('pid', [], { label: 'GET /pid' });
      const failed = await pool.run('fail', ['bad']).catch((e: unknown) => e);
      expect(seen.map(([name, , copy]) => [name, copy.task, copy.outcome])).to.deep.equal([['start', 'pid', undefined], ['end', 'pid', 'completed'], ['start', 'fail', undefined], ['end', 'fail', 'failed']]);
      const [[, started, atStart], [, ended, atEnd], , [, , failedEnd]] = seen as [typeof seen[0], typeof seen[0], typeof seen[0], typeof seen[0]];
      expect(ended).to.equal(started);
      expect(atStart).to.include({ task: 'pid', label: 'GET /pid', stream: false });
      expect(atStart.traceId).to.match(/^[0-9a-f]{32}$/);
      expect(atEnd).to.include({ task: 'pid', label: 'GET /pid', pid, outcome: 'completed', error: undefined });
      expect(atEnd.queueMs).to.be.a('number').and.at.least(0);
      expect(failedEnd.error).to.equal(failed);
    } finally {
      unsubscribe('slowlane:run:start', onStart);
      unsubscribe('slowlane:run:end', onEnd);
    }
  });
});

describe('traces with the API but no tracer provider, and with only a context manager', function () {
  this.timeout(40_000);
  let pool: ChildPool<Tasks>;
  before(async () => {
    pool = new ChildPool<Tasks>({ tasks: TRACE_TASKS, niceness: 0, maxChildren: 1 });
    await pool.ready();
  });
  after(() => pool?.destroy());

  it('no span is made, and the caller\'s span context still reaches the child as it is', async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    try {
      const caller = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 };
      const seen = await context.with(trace.setSpanContext(context.active(), caller), () => pool.run('activeSpanContext'));
      expect(seen).to.deep.equal(caller);
      // And with no active span, nothing arrives.
      expect(await context.with(ROOT_CONTEXT, () => pool.run('activeSpanContext'))).to.equal(null);
    } finally {
      context.disable();
    }
  });
});
