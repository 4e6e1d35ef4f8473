// @opentelemetry/api is an optional peer dependency: loaded on first need,
// once, from slowlane's own location. With normal hoisting that is the
// app's copy; and the API keeps its registry (tracer provider, context
// manager) on globalThis, so even a second copy of the same major version
// sees the provider the app registered. Absent, tracing is off and costs
// one failed lookup per process.
import { createRequire } from 'node:module';
import type * as Api from '@opentelemetry/api';

export type OtelApi = typeof Api;

/** undefined: not looked for yet; null: not installed. */
let loaded: OtelApi | null | undefined;

export function otelApi(): OtelApi | undefined {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)('@opentelemetry/api') as OtelApi;
    } catch {
      loaded = null;
    }
  }
  return loaded ?? undefined;
}
