// One line per request, as Tornado writes it: `200 GET /fast?id=1 (127.0.0.1) 0.41ms`.

/** Status logged for a request whose client left before the answer (nginx's convention). */
export const CLIENT_CLOSED = 499;

export function clientAddress(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined) return '-';
  return remoteAddress.startsWith('::ffff:') ? remoteAddress.slice(7) : remoteAddress;
}

export function accessLogLine(status: number, method: string, url: string, address: string, elapsedMs: number): string {
  return `${status} ${method} ${url} (${address}) ${elapsedMs.toFixed(2)}ms`;
}

/** The address a trusted proxy appended last to X-Forwarded-For: the client it saw. */
export function forwardedClient(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header.join(',') : header;
  const last = value?.split(',').map((entry) => entry.trim()).filter(Boolean).at(-1);
  return last === undefined ? undefined : clientAddress(last);
}
