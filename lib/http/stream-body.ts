// A stream run's values written as they come: strings and bytes as they
// are, anything else as one JSON line (NDJSON). Each write waits for the
// socket to drain before the next value is asked for, so a slow client
// pauses the generator in the child (pool.stream()'s credit) and nothing
// piles up here. A run that fails while a client is not reading (its
// timeout) is noticed at once, and such a client is cut off, not kept.
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { OFFLOAD_DEFAULTS } from '../defaults.js';
import { streamChunk, streamTypeOf, TEXT } from './content-type.js';

/** The values, and (a pool's stream) a promise of the run's end: its error, or undefined. */
export type StreamValues = AsyncIterator<unknown> & { readonly ended?: Promise<Error | undefined> };

/** Resolves when the response can take more, or has closed; rejects with the run's error if it fails first. */
async function drained(res: ServerResponse, ended: StreamValues['ended']): Promise<void> {
  const closed = new AbortController();
  // A run that completes meanwhile changes nothing: its last values are still to be written.
  const failed = ended?.then((error) => (error === undefined ? new Promise<never>(() => {}) : Promise.reject(error)));
  try {
    await Promise.race([once(res, 'drain', { signal: closed.signal }), once(res, 'close', { signal: closed.signal }), ...(failed === undefined ? [] : [failed])]);
  } finally {
    closed.abort();
  }
}

/**
 * Ends a response whose stream failed midway, without its final chunk (the
 * client can tell the body is incomplete): what was written still goes out
 * to a client that reads it within brokenStreamFlushMs; past it the
 * connection is destroyed, and what was queued for it with it.
 */
export function endBroken(res: ServerResponse): void {
  const { socket } = res;
  if (socket === null) return void res.destroy();
  // Node 24 and later keep a response's latest chunks in the response itself
  // (http's cork) until a tick after they were written: ending the socket now
  // would drop them, headers included, and the client would see no response.
  setImmediate(() => {
    if (socket.destroyed) return;
    socket.destroySoon();
    if (socket.destroyed) return;
    const timer = setTimeout(() => socket.destroy(), OFFLOAD_DEFAULTS.brokenStreamFlushMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  });
}

/**
 * Writes every value as it comes; headers go with the first. Rejects with the
 * run's failure: before the first value the caller can still answer with a
 * status, after it only end the response without its final chunk.
 */
export async function streamBody(res: ServerResponse, values: StreamValues, contentType?: string): Promise<void> {
  // HEAD: the first value decides the type; the rest is not worth producing.
  const headOnly = res.req?.method === 'HEAD';
  try {
    for (;;) {
      const next = await values.next();
      if (next.done === true) break;
      const { value } = next;
      if (res.destroyed) return void (await values.return?.());
      if (!res.headersSent) res.writeHead(200, { 'content-type': contentType ?? streamTypeOf(value) });
      if (headOnly) {
        await values.return?.();
        break;
      }
      if (!res.write(streamChunk(value))) await drained(res, values.ended);
    }
  } catch (error) {
    // A write that threw (a bad content type): the run must not keep its child waiting for credit.
    // (After the run failed while the client did not read, return() only settles the stream.)
    await values.return?.();
    throw error;
  }
  if (!res.headersSent) res.writeHead(200, { 'content-type': contentType ?? TEXT });
  res.end();
}
