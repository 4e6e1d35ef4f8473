// A span context as plain data: what crosses the IPC channel to a child and
// Redis to a worker host. The span context itself travels, not W3C headers,
// so neither side needs a propagator registered. No OpenTelemetry type here:
// this one is public, and an app without the API must type-check against it.

/** The trace a run belongs to: a span context as plain data (OpenTelemetry's, without the API). */
export interface TraceCarrier {
  /** 32 lowercase hex digits, not all zero. */
  traceId: string;
  /** 16 lowercase hex digits, not all zero: the span the run is a child of. */
  spanId: string;
  /** W3C trace flags (1: sampled). */
  traceFlags: number;
  /** The W3C tracestate header's value, if any. */
  traceState?: string | undefined;
}

const TRACE_ID = /^(?!0{32})[0-9a-f]{32}$/;
const SPAN_ID = /^(?!0{16})[0-9a-f]{16}$/;

export function isTraceCarrier(value: unknown): value is TraceCarrier {
  if (typeof value !== 'object' || value === null) return false;
  const { traceId, spanId, traceFlags, traceState } = value as Record<string, unknown>;
  return typeof traceId === 'string' && TRACE_ID.test(traceId) && typeof spanId === 'string' && SPAN_ID.test(spanId)
    && Number.isInteger(traceFlags) && (traceFlags as number) >= 0 && (traceFlags as number) <= 255
    && (traceState === undefined || typeof traceState === 'string');
}
