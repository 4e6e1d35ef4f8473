// http-server.mjs: your own node:http server, its CPU-heavy work in a pool of child processes.
import http from 'node:http';
import { ChildPool, HttpError, offload } from 'slowlane';

const pool = new ChildPool({
  tasks: new URL('./tasks.mjs', import.meta.url),
  maxChildren: 2,   // children computing at once
  minChildren: 2,   // kept warm
  timeoutMs: 5000,  // a task running longer is killed: 504
});

// The work runs in a child; the answer is written here, on the event loop.
const hash = offload(pool, 'hashMany', (req) => {
  const text = new URL(req.url, 'http://localhost').searchParams.get('text');
  if (!text) throw new HttpError(400, 'missing query argument: text');
  return [text, 100_000];
});

const server = http.createServer((req, res) => {
  if (req.url.startsWith('/hash?')) return hash(req, res);
  res.writeHead(404).end('not found\n');
});

// At start-up, not at the first request: a tasks module that cannot load, or
// that lacks a task a route runs, rejects here.
await pool.ready();

server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

// Stop taking connections, let running tasks finish, then end the children.
process.once('SIGTERM', () => server.close(() => pool.close()));
