// hono-server.mjs: a Hono app on @hono/node-server whose CPU-heavy routes run in a pool of child processes.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { ChildPool, HttpError, failureResponse, requestSignal } from 'slowlane';

const pool = new ChildPool({
  tasks: new URL('./tasks.mjs', import.meta.url),
  maxChildren: 2,                                    // children computing at once
  timeoutMs: Number(process.env.TIMEOUT_MS ?? 5000), // a task running longer is killed: 504
});
const app = new Hono();

app.get('/hash', async (c) => {
  const text = c.req.query('text');
  const rounds = Number(c.req.query('rounds') ?? 100_000);
  if (!text) throw new HttpError(400, 'missing query argument: text');
  if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 50_000_000)) throw new HttpError(400, 'rounds must be a whole number from 1 to 50000000');
  // On Node, c.env holds the node:http request and response: the signal
  // aborts the run (its child is killed) if the client goes away.
  const signal = requestSignal(c.env.incoming, c.env.outgoing);
  return c.text(await pool.run('hashMany', [text, rounds], { signal }));
});

app.get('/entries', async (c) => {
  const json = c.req.query('json');
  if (json === undefined) throw new HttpError(400, 'missing query argument: json');
  return c.json(await pool.run('countEntries', [json], { signal: requestSignal(c.env.incoming, c.env.outgoing) }));
});

// Any failure becomes a status and one line, never a stack trace. A client
// that left is not logged: its run was aborted on purpose, and its answer goes nowhere.
app.onError((error, c) => {
  const { status, headers, body } = failureResponse(error);
  if (status >= 500 && !c.env.outgoing.destroyed) console.error(error); // the log gets the stack
  return c.text(body, status, headers);
});

const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000), hostname: '127.0.0.1' }, (info) => {
  console.log(`listening on http://127.0.0.1:${info.port}`);
});
// Stop taking connections, let running tasks finish, then end the children.
process.once('SIGTERM', () => server.close(() => pool.close()));
