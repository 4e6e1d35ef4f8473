// The node:http contract every server in the side-by-side comparison keeps:
// GET /fast?id=X answers `fast result X`, GET /slow_offload?id=X&n=K runs
// heavyLifting(n) through the server's pool and answers `slow result X <--- s`.
// The same code fronts piscina and workerpool, so only the pool differs.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export function serveContract(offload: (n: number) => Promise<number>, close: () => Promise<unknown>): void {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const id = url.searchParams.get('id') ?? '';
    const answer = (status: number, body: string): void => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (url.pathname === '/fast') return answer(200, `fast result ${id}\n`);
    if (url.pathname !== '/slow_offload') return answer(404, 'not found\n');
    const n = Number(url.searchParams.get('n') ?? 2000);
    offload(n).then(
      (seconds) => answer(200, `slow result ${id} <--- ${seconds.toFixed(3)} s\n`),
      (error: Error) => answer(500, `${error.message}\n`),
    );
  });
  server.listen(0, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  process.once('SIGTERM', () => server.close(() => void close().then(() => process.exit(0))));
}
