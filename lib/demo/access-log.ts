// One line per request, as Tornado writes it: `200 GET /fast?id=1 (127.0.0.1) 0.41ms`.
// Whatever a client sends is escaped and capped before it reaches the log, so
// no request can write a line of its own or fill the disk with one URL.
import { isIP } from 'node:net';

/** Status logged for a request whose client left before the answer (nginx's convention). */
export const CLIENT_CLOSED = 499;

/** Longest URL the log prints; the rest is cut and marked. */
export const MAX_LOGGED_URL = 512;

export function clientAddress(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined) return '-';
  return remoteAddress.startsWith('::ffff:') ? remoteAddress.slice(7) : remoteAddress;
}

/**
 * Control characters (a newline, an escape sequence, a C1 control such as
 * CSI, which a UTF-8 terminal may obey too; a bidi override that reorders
 * what is shown) as \xNN; a long text cut at `max` with a marker. A failure's
 * detail may come from another machine (a worker host, through Redis).
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is escaped
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function forLog(text: string, max = MAX_LOGGED_URL): string {
  const cut = text.length > max ? `${text.slice(0, max)}...(${text.length - max} more)` : text;
  // The common case, nothing to escape, costs one test and no new string.
  if (!CONTROL.test(cut)) return cut;
  return cut.replace(CONTROLS, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The method needs no escaping: node:http accepts only RFC 9110 tokens there. */
export function accessLogLine(status: number, method: string, url: string, address: string, elapsedMs: number, detail?: string): string {
  const line = `${status} ${method} ${forLog(url)} (${address}) ${elapsedMs.toFixed(2)}ms`;
  return detail === undefined ? line : `${line} ${forLog(detail, 1000)}`;
}

/** The address a trusted proxy appended last to X-Forwarded-For: the client it saw; undefined unless it is an IP address. */
export function forwardedClient(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header.join(',') : header;
  const last = value?.split(',').map((entry) => entry.trim()).filter(Boolean).at(-1);
  if (last === undefined) return undefined;
  const address = clientAddress(last);
  return isIP(address) === 0 ? undefined : address;
}
