// A tiny HTTP client for tests: one connection per request, nothing pooled.
import http from 'node:http';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function request(url: string, options: { method?: string; signal?: AbortSignal } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', agent: false, signal: options.signal }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`no answer from ${url} within 30 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** Sends every request at once and returns the answers in arrival order. */
export async function burst(urls: readonly string[]): Promise<{ url: string; answer: Answer }[]> {
  const arrived: { url: string; answer: Answer }[] = [];
  await Promise.all(urls.map(async (url) => arrived.push({ url, answer: await request(url) })));
  return arrived;
}
