// The trace parts on their own: carriers and their check, and what a run
// costs when nothing records it (no tracer provider, no active span, no
// subscriber): no trace object at all.
import { context, ProxyTracer, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { expect } from 'chai';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import sinon from 'sinon';
import { checkRun } from '../../lib/pool/run-options.js';
import { isTraceCarrier } from '../../lib/trace/carrier.js';
import type { RunEvent } from '../../lib/trace/run-channels.js';
import { traceRun } from '../../lib/trace/run-trace.js';

const CARRIER = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 };

describe('trace carriers and run traces', () => {
  it('isTraceCarrier: a valid span context as data, nothing else', () => {
    expect(isTraceCarrier(CARRIER)).to.equal(true);
    expect(isTraceCarrier({ ...CARRIER, traceState: 'a=1' })).to.equal(true);
    for (const bad of [null, 'x', {}, { ...CARRIER, traceId: '0'.repeat(32) }, { ...CARRIER, spanId: '0'.repeat(16) }, { ...CARRIER, traceId: CARRIER.traceId.toUpperCase() },
      { ...CARRIER, spanId: 'abc' }, { ...CARRIER, traceFlags: 256 }, { ...CARRIER, traceFlags: '1' }, { ...CARRIER, traceState: 1 }]) {
      expect(isTraceCarrier(bad), JSON.stringify(bad)).to.equal(false);
    }
  });

  it('checkRun passes run option trace on, and refuses a malformed one with a TypeError', () => {
    const defaults = { timeoutMs: Infinity, deadlineMs: Infinity };
    expect(checkRun('t', [], { trace: CARRIER }, defaults).trace).to.equal(CARRIER);
    expect(checkRun('t', [], {}, defaults).trace).to.equal(undefined);
    expect(() => checkRun('t', [], { trace: { traceId: 'x' } }, defaults)).to.throw(TypeError, /^run option trace must be/);
  });

  it('no tracer provider, no active span, no subscriber: no trace object for the run, and no span started', () => {
    const startSpan = sinon.spy(ProxyTracer.prototype, 'startSpan');
    try {
      expect(traceRun('add', undefined, false, undefined)).to.equal(undefined);
      expect(traceRun('add', undefined, false, CARRIER)?.carrier).to.deep.equal(CARRIER);
      expect(startSpan.called).to.equal(false);
    } finally {
      startSpan.restore();
    }
  });

  it('no tracer provider but an active span: the run carries that span context on to its child', () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    try {
      const run = context.with(trace.setSpanContext(context.active(), { ...CARRIER, isRemote: false }), () => traceRun('add', undefined, false, undefined));
      expect(run?.carrier).to.deep.equal(CARRIER);
    } finally {
      context.disable();
    }
    expect(traceRun('add', undefined, false, CARRIER)?.carrier).to.deep.equal(CARRIER);
  });

  it('subscribers only: start and end on the same object, ended with pid, wait, outcome and error', () => {
    const events: [string, RunEvent][] = [];
    const onStart = (m: unknown): void => void events.push(['start', { ...(m as RunEvent) }]);
    const onEnd = (m: unknown): void => void events.push(['end', { ...(m as RunEvent) }]);
    subscribe('slowlane:run:start', onStart);
    subscribe('slowlane:run:end', onEnd);
    try {
      const run = traceRun('add', 'GET /add', true, undefined);
      expect(run?.carrier).to.equal(undefined);
      run!.began(1234);
      const error = new RangeError('no');
      run!.end('failed', error, 12);
      expect(events).to.deep.equal([
        ['start', { task: 'add', label: 'GET /add', stream: true, traceId: undefined }],
        ['end', { task: 'add', label: 'GET /add', stream: true, traceId: undefined, pid: 1234, queueMs: 12, outcome: 'failed', error }],
      ]);
    } finally {
      unsubscribe('slowlane:run:start', onStart);
      unsubscribe('slowlane:run:end', onEnd);
    }
  });
});
