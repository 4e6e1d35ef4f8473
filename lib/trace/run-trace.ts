// One run as the parent sees it, for OpenTelemetry and diagnostics_channel:
// a span `slowlane.run <task>` started under the caller's active context
// (or the trace a run option names) and ended once, when the job settles,
// whatever the way; and the start and end events. traceRun() returns
// undefined, and the run costs nothing more, when there is neither a span
// to record, a trace to carry to the child, nor a subscriber.
import type { Tracer, TracerProvider } from '@opentelemetry/api';
import type { Outcome } from './outcome.js';
import { packageVersion } from '../package-info.js';
import type { TraceCarrier } from './carrier.js';
import { otelApi, type OtelApi } from './otel-api.js';
import { runEnd, runsListened, runStart, type RunEvent } from './run-channels.js';
import { carrierOf, spanContextOf } from './span-context.js';

/** Attribute names of the run span. */
export const RUN_SPAN_ATTRIBUTES = {
  task: 'slowlane.task',
  label: 'slowlane.label',
  stream: 'slowlane.stream',
  queueWaitMs: 'slowlane.queue_wait_ms',
  childPid: 'slowlane.child.pid',
  outcome: 'slowlane.outcome',
  /** OpenTelemetry's semantic convention for the failure's class. */
  errorType: 'error.type',
} as const;

/**
 * The part of an OpenTelemetry span a run uses. Declared here so that no
 * public type declaration names the API: an app without it type-checks.
 */
interface RunSpan {
  setAttribute(key: string, value: string | number | boolean): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  recordException(error: Error): unknown;
  end(): unknown;
}

/** SpanStatusCode.ERROR: a value the OpenTelemetry specification fixes. */
const STATUS_ERROR = 2;

export class RunTrace {
  /** The span context the child's task runs in: the run span's, or the parent's when there is no span. */
  readonly carrier: TraceCarrier | undefined;
  readonly #span: RunSpan | undefined;
  readonly #event: RunEvent | undefined;
  #pid: number | undefined;

  constructor(span: RunSpan | undefined, carrier: TraceCarrier | undefined, event: RunEvent | undefined) {
    this.#span = span;
    this.carrier = carrier;
    this.#event = event;
  }

  /** A child got the run. */
  began(pid: number | undefined): void {
    this.#pid = pid;
  }

  /** The run settled: called once, by its job. */
  end(outcome: Outcome, error: unknown, queueMs: number): void {
    const span = this.#span;
    if (span !== undefined) {
      // Called as the job settles: a throwing span must not keep its promise from settling.
      try {
        const names = RUN_SPAN_ATTRIBUTES;
        span.setAttribute(names.queueWaitMs, queueMs);
        span.setAttribute(names.outcome, outcome);
        if (this.#pid !== undefined) span.setAttribute(names.childPid, this.#pid);
        if (outcome !== 'completed') {
          span.setAttribute(names.errorType, errorType(error));
          span.setStatus({ code: STATUS_ERROR, message: errorMessage(error) });
          if (error instanceof Error) span.recordException(error);
        }
        span.end();
      } catch {
        // Its provider's fault: the run goes on.
      }
    }
    const event = this.#event;
    if (event !== undefined && runEnd.hasSubscribers) {
      event.pid = this.#pid;
      event.queueMs = queueMs;
      event.outcome = outcome;
      event.error = error;
      runEnd.publish(event);
    }
  }
}

/** A run the pool took: its span and start event, or undefined when nothing would be recorded. */
export function traceRun(task: string, label: string | undefined, stream: boolean, parent: TraceCarrier | undefined): RunTrace | undefined {
  const api = otelApi();
  const listened = runsListened();
  if (api === undefined && parent === undefined && !listened) return undefined;
  const { span, carrier } = api === undefined ? { span: undefined, carrier: parent } : startSpan(api, task, label, stream, parent);
  if (span === undefined && carrier === undefined && !listened) return undefined;
  let event: RunEvent | undefined;
  if (listened) {
    event = { task, label, stream, traceId: carrier?.traceId };
    if (runStart.hasSubscribers) runStart.publish(event);
  }
  return new RunTrace(span, carrier, event);
}

/** The run's span, if one is recorded, and the span context its child runs in. */
function startSpan(api: OtelApi, task: string, label: string | undefined, stream: boolean, parent: TraceCarrier | undefined): { span: RunSpan | undefined; carrier: TraceCarrier | undefined } {
  // Tracing must never fail a run: a provider that throws is no span.
  try {
    const active = api.context.active();
    const provider = api.trace.getTracerProvider();
    // No provider registered (the API came with some dependency): no span, and no allocation for one.
    if (isNoop(api, provider)) return { span: undefined, carrier: parent ?? carrierOf(api, api.trace.getSpanContext(active)) };
    const context = parent === undefined ? active : api.trace.setSpanContext(active, spanContextOf(api, parent));
    const attributes = label === undefined ? { [RUN_SPAN_ATTRIBUTES.task]: task, [RUN_SPAN_ATTRIBUTES.stream]: stream } : { [RUN_SPAN_ATTRIBUTES.task]: task, [RUN_SPAN_ATTRIBUTES.label]: label, [RUN_SPAN_ATTRIBUTES.stream]: stream };
    const started = tracerOf(provider).startSpan(`slowlane.run ${task}`, { attributes }, context);
    // Sampled out: no span to end, but its context (not sampled) still goes to the child, so the task's spans are not sampled either.
    return { span: started.isRecording() ? started : undefined, carrier: carrierOf(api, started.spanContext()) ?? parent };
  } catch {
    return { span: undefined, carrier: parent };
  }
}

// The tracer of the provider registered now: kept while that provider is
// the global one (the API's proxy, the same until trace.disable()), looked
// up again when another is.
let provider: TracerProvider | undefined;
let cached: Tracer | undefined;

function tracerOf(current: TracerProvider): Tracer {
  if (current !== provider || cached === undefined) {
    provider = current;
    cached = current.getTracer('slowlane', version());
  }
  return cached;
}

/** The API's no-op provider, which its proxy hands out while no provider is registered. */
let noop: TracerProvider | undefined;

function isNoop(api: OtelApi, current: TracerProvider): boolean {
  const delegate = (current as { getDelegate?: () => TracerProvider }).getDelegate;
  if (typeof delegate !== 'function') return false;
  noop ??= new api.ProxyTracerProvider().getDelegate();
  return delegate.call(current) === noop;
}

let packageVersionText: string | undefined;
function version(): string | undefined {
  try {
    return (packageVersionText ??= packageVersion());
  } catch {
    return undefined;
  }
}

function errorType(error: unknown): string {
  try {
    const name = (error as { name?: unknown } | null)?.name;
    return typeof name === 'string' && name !== '' ? name : typeof error;
  } catch {
    return 'unknown';
  }
}

function errorMessage(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return 'a value that cannot be described';
  }
}
