// Your own node:http server, with CPU-heavy work in a pool of warm child processes.
import http from 'node:http';
import { PoolExecutor, QueueFullError, TaskTimeoutError } from 'slowlane';

const pool = new PoolExecutor({
  tasks: new URL('./tasks.mjs', import.meta.url),
  size: 2,          // warm children
  maxQueue: 50,     // beyond this, run() rejects with QueueFullError
  timeoutMs: 5000,  // a task running longer is killed
});

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname !== '/hash') return res.writeHead(404).end('not found\n');
  // Aborting the signal cancels the task if the client hangs up.
  const aborter = new AbortController();
  res.on('close', () => aborter.abort());
  try {
    const digest = await pool.run('hashMany', [url.searchParams.get('text') ?? '', 100_000], { signal: aborter.signal });
    res.end(`${digest}\n`); // written on the event loop, when the child's answer arrives
  } catch (error) {
    if (aborter.signal.aborted) return;
    const status = error instanceof QueueFullError ? 503 : error instanceof TaskTimeoutError ? 504 : 500;
    res.writeHead(status).end(`${error.message}\n`);
  }
});

server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

// Stop taking connections, let running tasks finish, then end the children.
process.once('SIGTERM', () => server.close(() => pool.close()));
