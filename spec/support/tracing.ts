// OpenTelemetry in a test process, as an app's instrumentation file sets it
// up: the SDK's provider with the in-memory exporter, and the
// AsyncLocalStorage context manager; undone after the test file.
import { context, trace, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ROOT } from '../../tools/server-process.js';

/** Tasks whose module sets up its own tracer provider in the child. */
export const TRACE_TASKS = `${ROOT}dist/spec/fixtures/trace-tasks.js`;

/** This process's OpenTelemetry set-up, as an app's instrumentation would do it; undone by the returned function. */
export function setUpTracing(): { exporter: InMemorySpanExporter; provider: BasicTracerProvider; undo: () => Promise<void> } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  trace.setGlobalTracerProvider(provider);
  return {
    exporter,
    provider,
    undo: async () => {
      await provider.shutdown();
      trace.disable();
      context.disable();
    },
  };
}

/** Runs `fn` inside a new active span `request`, ended after it; returns both. */
export async function underSpan<T>(fn: () => Promise<T>): Promise<{ span: Span; value: T }> {
  return trace.getTracer('spec').startActiveSpan('request', async (span) => {
    try {
      return { span, value: await fn() };
    } finally {
      span.end();
    }
  });
}

export const runSpans = (exporter: InMemorySpanExporter, task?: string): ReadableSpan[] =>
  exporter.getFinishedSpans().filter((s) => (task === undefined ? s.name.startsWith('slowlane.run ') : s.name === `slowlane.run ${task}`));
