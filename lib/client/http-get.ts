// A plain GET with node:http, one connection per request so that requests
// really are in flight at once, as the prototype's client sent them.
import http from 'node:http';

export interface GetResult {
  status: number;
  body: string;
}

export type HttpGet = (url: string) => Promise<GetResult>;

/** The longest a single request may take before the client gives up on it. */
export const REQUEST_TIMEOUT_MS = 120_000;

const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

export const httpGet: HttpGet = (url) =>
  new Promise((resolve, reject) => {
    const req = http.get(url, { agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trimEnd() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
  });
