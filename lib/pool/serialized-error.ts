// Errors cross the IPC channel as plain data: V8's serializer keeps only an
// Error's message and stack, and drops the `name` of subclasses and fields like `code`.

export interface SerializedError {
  name: string;
  message: string;
  stack?: string | undefined;
  props: Record<string, unknown>;
}

export function serializeError(thrown: unknown): SerializedError {
  if (!(thrown instanceof Error)) {
    return { name: 'Error', message: `task threw a non-Error value: ${String(thrown)}`, props: {} };
  }
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(thrown)) {
    if (key === 'name' || key === 'message' || key === 'stack') continue;
    const value = (thrown as unknown as Record<string, unknown>)[key];
    try {
      props[key] = structuredClone(value);
    } catch {
      // A property that cannot cross (a function, a socket) is dropped, not fatal.
    }
  }
  return { name: thrown.name, message: thrown.message, stack: thrown.stack, props };
}
