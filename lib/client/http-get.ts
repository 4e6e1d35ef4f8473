// One HTTP request with node:http, its whole answer as text. The prototype's
// client uses it with one connection per request, so that requests really
// are in flight at once; the tests and make bench use it too.
import http from 'node:http';

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface HttpRequestOptions {
  method?: string;
  signal?: AbortSignal;
  /** A keep-alive agent to reuse connections; default: a new connection per request. */
  agent?: http.Agent | false;
  /** The longest the request may take before it is given up. Default REQUEST_TIMEOUT_MS. */
  timeoutMs?: number;
}

export type HttpGet = (url: string) => Promise<HttpAnswer>;

/** The longest a single request may take before the client gives up on it. */
export const REQUEST_TIMEOUT_MS = 120_000;

export function httpRequest(url: string, options: HttpRequestOptions = {}): Promise<HttpAnswer> {
  const timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', agent: options.agent ?? false, signal: options.signal }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs / 1000} s`)));
    req.on('error', reject);
    req.end();
  });
}

export const httpGet: HttpGet = (url) => httpRequest(url);
