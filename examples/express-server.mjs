// express-server.mjs: an Express app with one route whose work runs in a child process.
import express from 'express';
import { ChildPool, HttpError, offload } from 'slowlane';

const pool = new ChildPool({ tasks: new URL('./tasks.mjs', import.meta.url), timeoutMs: 5000 });
const app = express();

app.get('/fast', (req, res) => res.send('fast\n'));

app.get('/hash', offload(pool, 'hashMany', (req) => {
  if (typeof req.query.text !== 'string') throw new HttpError(400, 'missing query argument: text');
  return [req.query.text, 100_000];
}));

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
process.once('SIGTERM', () => server.close(() => pool.close()));
