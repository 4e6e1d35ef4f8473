// stream-server.mjs: a CSV export streamed from a generator task, as the child yields it.
import http from 'node:http';
import { ChildPool, HttpError, offload } from 'slowlane';

const pool = new ChildPool({ tasks: new URL('./tasks.mjs', import.meta.url), timeoutMs: 60_000 });

// Each line is written as the child yields it, at the pace the client reads;
// a client that leaves closes the generator in the child.
const digests = offload(pool, 'digests', (req) => {
  const count = Number(new URL(req.url, 'http://localhost').searchParams.get('count'));
  if (!(count >= 1 && count <= 1_000_000)) throw new HttpError(400, 'count must be a number from 1 to 1000000');
  return ['seed', count];
}, { stream: true, contentType: 'text/csv; charset=utf-8' });

const server = http.createServer((req, res) => {
  if (req.url.startsWith('/digests?')) return digests(req, res);
  res.writeHead(404).end('not found\n');
});

server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
process.once('SIGTERM', () => server.close(() => pool.close()));
