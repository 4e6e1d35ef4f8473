// koa-server.mjs: a Koa app whose CPU-heavy routes run in a pool of child processes.
import Koa from 'koa';
import { ChildPool, failureResponse, requestSignal } from 'slowlane';

const pool = new ChildPool({
  tasks: new URL('./tasks.mjs', import.meta.url),
  maxChildren: 2,                                    // children computing at once
  timeoutMs: Number(process.env.TIMEOUT_MS ?? 5000), // a task running longer is killed: 504
});
const app = new Koa();

// Any failure becomes a status and one line, never a stack trace. A client
// that left is neither answered nor logged: its run was aborted on purpose.
app.use(async (ctx, next) => {
  try {
    await next();
  } catch (error) {
    if (!ctx.writable) return;
    const { status, headers, body } = failureResponse(error);
    ctx.status = status;
    ctx.set(headers);
    ctx.body = body;
    if (status >= 500) ctx.app.emit('error', error, ctx); // the log gets the stack
  }
});

// One middleware per route (with @koa/router, the same bodies go in router.get()).
app.use(async (ctx, next) => {
  if (ctx.path !== '/hash') return next();
  const text = ctx.query.text;
  const rounds = Number(ctx.query.rounds ?? 100_000);
  if (typeof text !== 'string' || text === '') ctx.throw(400, 'missing query argument: text');
  if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 50_000_000)) ctx.throw(400, 'rounds must be a whole number from 1 to 50000000');
  // The signal aborts the run (its child is killed) if the client goes away.
  ctx.body = await pool.run('hashMany', [text, rounds], { signal: requestSignal(ctx.req, ctx.res) });
});

app.use(async (ctx, next) => {
  if (ctx.path !== '/entries') return next();
  if (typeof ctx.query.json !== 'string') ctx.throw(400, 'missing query argument: json');
  ctx.body = await pool.run('countEntries', [ctx.query.json], { signal: requestSignal(ctx.req, ctx.res) });
});

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
// Stop taking connections, let running tasks finish, then end the children.
process.once('SIGTERM', () => server.close(() => pool.close()));
