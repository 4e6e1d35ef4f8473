// Between OpenTelemetry's span contexts and carriers (carrier.ts).
import type { SpanContext } from '@opentelemetry/api';
import type { TraceCarrier } from './carrier.js';
import { otelApi, type OtelApi } from './otel-api.js';

/** The carrier for a span context, or undefined if it is not valid (no span). */
export function carrierOf(api: OtelApi, spanContext: SpanContext | undefined): TraceCarrier | undefined {
  if (spanContext === undefined || !api.trace.isSpanContextValid(spanContext)) return undefined;
  const { traceId, spanId, traceFlags, traceState } = spanContext;
  const state = traceState?.serialize();
  return state ? { traceId, spanId, traceFlags, traceState: state } : { traceId, spanId, traceFlags };
}

/** The span context a carrier stands for: remote, since it came from another process. */
export function spanContextOf(api: OtelApi, carrier: TraceCarrier): SpanContext {
  const { traceId, spanId, traceFlags, traceState } = carrier;
  const state = traceState === undefined || typeof api.createTraceState !== 'function' ? undefined : api.createTraceState(traceState);
  return state === undefined ? { traceId, spanId, traceFlags, isRemote: true } : { traceId, spanId, traceFlags, isRemote: true, traceState: state };
}

/** The caller's active span context as a carrier; undefined without the API or an active span. */
export function activeTraceCarrier(): TraceCarrier | undefined {
  const api = otelApi();
  if (api === undefined) return undefined;
  try {
    return carrierOf(api, api.trace.getSpanContext(api.context.active()));
  } catch {
    return undefined; // a context manager that throws: the run goes on untraced
  }
}
