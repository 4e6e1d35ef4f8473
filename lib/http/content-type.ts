// The content types an offloaded answer gets when the route sets none, and how
// a streamed value is written: one place for offload(), its stream body and
// Fastify's reply.offload().

export const TEXT = 'text/plain; charset=utf-8';
export const BYTES = 'application/octet-stream';
export const JSON_TYPE = 'application/json; charset=utf-8';
/** One JSON value per line: what a stream of objects is sent as. */
export const NDJSON = 'application/x-ndjson';

/** A stream's type, from its first value: text for a string, bytes for bytes, NDJSON otherwise. */
export const streamTypeOf = (value: unknown): string => (typeof value === 'string' ? TEXT : value instanceof Uint8Array ? BYTES : NDJSON);

/** A streamed value as written: strings and bytes as they are, anything else as one JSON line. */
export const streamChunk = (value: unknown): string | Uint8Array => (typeof value === 'string' || value instanceof Uint8Array ? value : `${JSON.stringify(value)}\n`);
