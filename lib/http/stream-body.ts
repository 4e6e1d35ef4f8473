// A stream run's values written as they come: strings and bytes as they
// are, anything else as one JSON line (NDJSON). Each write waits for the
// socket to drain before the next value is asked for, so a slow client
// pauses the generator in the child (pool.stream()'s credit) and nothing
// piles up here.
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';

const TEXT = 'text/plain; charset=utf-8';
const BYTES = 'application/octet-stream';
const NDJSON = 'application/x-ndjson';

const typeOf = (value: unknown): string => (typeof value === 'string' ? TEXT : value instanceof Uint8Array ? BYTES : NDJSON);

/** Resolves when the response can take more, or has closed. */
async function drained(res: ServerResponse): Promise<void> {
  const closed = new AbortController();
  try {
    await Promise.race([once(res, 'drain', { signal: closed.signal }), once(res, 'close', { signal: closed.signal })]);
  } finally {
    closed.abort();
  }
}

/**
 * Writes every value as it comes; headers go with the first. Rejects with the
 * run's failure: before the first value the caller can still answer with a
 * status, after it only end the response without its final chunk.
 */
export async function streamBody(res: ServerResponse, values: AsyncIterator<unknown>, contentType?: string): Promise<void> {
  // HEAD: the first value decides the type; the rest is not worth producing.
  const headOnly = res.req?.method === 'HEAD';
  try {
    for (;;) {
      const next = await values.next();
      if (next.done === true) break;
      const { value } = next;
      if (res.destroyed) return void (await values.return?.());
      if (!res.headersSent) res.writeHead(200, { 'content-type': contentType ?? typeOf(value) });
      if (headOnly) {
        await values.return?.();
        break;
      }
      const data = typeof value === 'string' || value instanceof Uint8Array ? value : `${JSON.stringify(value)}\n`;
      if (!res.write(data)) await drained(res);
    }
  } catch (error) {
    // A write that threw (a bad content type): the run must not keep its child waiting for credit.
    await values.return?.();
    throw error;
  }
  if (!res.headersSent) res.writeHead(200, { 'content-type': contentType ?? TEXT });
  res.end();
}
