// The query arguments of the fast and slow routes, checked before any work starts.
import { DEFAULT_N } from './heavy-lifting.js';
import { HttpError } from '../http/http-error.js';

export const MAX_ID_LENGTH = 256;
/** The offloaded routes: a child computes, bounded by the server's --timeout. */
export const MAX_N = 20000;
/** /slow computes on the event loop, where nothing bounds it: n = 5000 holds every request for about 5.6 s here. */
export const MAX_INLINE_N = 5000;

export function requireId(query: URLSearchParams): string {
  const id = query.get('id');
  if (id === null || id === '') throw new HttpError(400, 'missing argument: id');
  if (id.length > MAX_ID_LENGTH) throw new HttpError(400, `argument id is too long: at most ${MAX_ID_LENGTH} characters`);
  return id;
}

export function optionalN(query: URLSearchParams, max = MAX_N): number {
  const raw = query.get('n');
  if (raw === null) return DEFAULT_N;
  const n = /^\d{1,6}$/.test(raw) ? Number(raw) : NaN;
  if (!(n <= max)) throw new HttpError(400, `argument n must be a whole number from 0 to ${max}${max === MAX_INLINE_N ? ' on /slow, which blocks the server; /slow_threaded and /slow_pool take up to ' + MAX_N : ''}`);
  return n;
}
