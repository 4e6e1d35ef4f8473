// In the child: a run's task (and, for a stream run, every step of its
// generator) runs inside the span context its parent sent, so the spans the
// task makes join the caller's trace. A child without the API, or a run
// with no trace, pays nothing.
import type { TraceCarrier } from './carrier.js';
import { spanContextOf } from './span-context.js';
import { otelApi } from './otel-api.js';

export function inTraceContext<T>(carrier: TraceCarrier | undefined, fn: () => T): T {
  if (carrier === undefined) return fn();
  const api = otelApi();
  if (api === undefined) return fn();
  let context;
  try {
    context = api.trace.setSpanContext(api.context.active(), spanContextOf(api, carrier));
  } catch {
    return fn(); // tracing never fails a task
  }
  return api.context.with(context, fn);
}
