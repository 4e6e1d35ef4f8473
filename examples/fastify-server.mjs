// fastify-server.mjs: a Fastify app whose CPU-heavy routes run in a pool of child processes.
import Fastify from 'fastify';
import slowlane from 'slowlane/fastify';
import { ChildPool, HttpError } from 'slowlane';

const pool = new ChildPool({
  tasks: new URL('./tasks.mjs', import.meta.url),
  maxChildren: 2,                                    // children computing at once
  timeoutMs: Number(process.env.TIMEOUT_MS ?? 5000), // a task running longer is killed: 504
});
const app = Fastify({ logger: { level: 'error', stream: process.stderr } });
await app.register(slowlane, { pool }); // reply.offload(); the pool stays yours

app.get('/hash', async (request, reply) => {
  const text = request.query.text;
  const rounds = Number(request.query.rounds ?? 100_000);
  if (!text) throw new HttpError(400, 'missing query argument: text');
  if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 50_000_000)) throw new HttpError(400, 'rounds must be a whole number from 1 to 50000000');
  // Runs in a child, cancelled if the client leaves; the result goes through Fastify's reply.
  return reply.type('text/plain; charset=utf-8').offload('hashMany', [text, rounds]);
});

app.get('/entries', async (request, reply) => {
  if (request.query.json === undefined) throw new HttpError(400, 'missing query argument: json');
  return reply.offload('countEntries', [request.query.json]);
});

// Failures arrive with failureResponse's status, headers (Retry-After on a
// 503) and one line as their message, the run's own error as `cause`. Answered here as one line
// of text (Fastify's default would be JSON with the same message).
app.setErrorHandler((error, request, reply) => {
  const status = error.statusCode ?? 500;
  if (status >= 500) request.log.error(error.cause ?? error); // the log gets the stack
  return reply.code(status).headers(error.headers ?? {}).type('text/plain; charset=utf-8').send(`${status >= 500 && error.cause === undefined ? 'internal server error' : error.message}\n`);
});

await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
console.log(`listening on http://127.0.0.1:${app.server.address().port}`);
// Stop taking connections, let running tasks finish, then end the children.
process.once('SIGTERM', async () => {
  await app.close();
  await pool.close();
});
