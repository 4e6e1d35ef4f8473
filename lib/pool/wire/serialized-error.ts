// Errors cross the IPC channel as plain data: V8's serializer keeps only an
// Error's message and stack, and drops the `name` of subclasses and fields like `code`.

export interface SerializedError {
  name: string;
  message: string;
  stack?: string | undefined;
  props: Record<string, unknown>;
}

/** What is sent when a thrown value cannot even be described. */
const UNDESCRIBABLE: SerializedError = { name: 'Error', message: 'task threw a value that cannot be described (its toString() or one of its getters threw)', props: {} };

/**
 * Never throws: a thrown value whose getters or toString() throw must still
 * become an answer, or the child would leave with the run unanswered.
 */
export function serializeError(thrown: unknown): SerializedError {
  try {
    return describe(thrown);
  } catch {
    return UNDESCRIBABLE;
  }
}

function describe(thrown: unknown): SerializedError {
  if (!(thrown instanceof Error)) {
    return { name: 'Error', message: `task threw a non-Error value: ${String(thrown)}`, props: {} };
  }
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(thrown)) {
    if (key === 'name' || key === 'message' || key === 'stack') continue;
    try {
      props[key] = structuredClone((thrown as unknown as Record<string, unknown>)[key]);
    } catch {
      // A property that cannot cross (a function, a socket, a throwing getter) is dropped, not fatal.
    }
  }
  const stack = thrown.stack;
  return { name: String(thrown.name), message: String(thrown.message), stack: typeof stack === 'string' ? stack : undefined, props };
}

/**
 * A value V8's serializer refused. Its own message quotes the value (a
 * function's source, util.inspect of a host object: a server's whole
 * environment), which must never reach a log line or a client: this one
 * names only what was being sent.
 */
export function uncloneable(what: string): TypeError {
  return Object.assign(new TypeError(`${what} cannot be copied to another process: it holds a function, a symbol or another value V8's serializer refuses; send plain data`), { code: 'ERR_UNCLONEABLE' });
}
