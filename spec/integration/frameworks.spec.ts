// The framework recipes (examples/fastify-server.mjs, examples/koa-server.mjs,
// examples/hono-server.mjs, examples/nest/), each run as a user runs it: its own process, its own
// tasks module, 'slowlane' imported by name. Each must answer through
// failureResponse, pass the client-gone signal to pool.run(), and close its
// pool on SIGTERM.
import { expect } from 'chai';
import { request } from '../support/http.js';
import { cpuTicks, eventually, isAlive, slowlaneChildren } from '../../tools/proc.js';
import { ROOT, runCommand, startListening, type Exit, type ServerProcess } from '../../tools/server-process.js';

interface Recipe {
  name: string;
  entry: string;
  /** Compiles the recipe before it can run (the Nest one is TypeScript with legacy decorators). */
  build?: string;
  /** How the process ends on SIGTERM once its shutdown work is done. */
  exit: Exit;
}

const RECIPES: Recipe[] = [
  { name: 'Fastify', entry: 'examples/fastify-server.mjs', exit: { code: 0, signal: null } },
  { name: 'Koa', entry: 'examples/koa-server.mjs', exit: { code: 0, signal: null } },
  { name: 'Hono', entry: 'examples/hono-server.mjs', exit: { code: 0, signal: null } },
  // Nest's shutdown hooks re-raise the signal once the hooks have run, so the
  // process ends by SIGTERM; that it ran them is shown by the request it finishes.
  { name: 'NestJS', entry: 'examples/nest/dist/main.js', build: 'examples/nest/tsconfig.json', exit: { code: null, signal: 'SIGTERM' } },
];

// A long run: tens of seconds of hashing, far past the bounded waits below,
// so only the signal or the timeout can end it early.
const LONG = 'rounds=50000000';

// CPU time, in clock ticks (1/100 s), that marks a child as computing: more
// than a child spends starting up (about 6 plainly, over 15 under c8's
// coverage, where a spare starting beside the run was taken for it), a
// fraction of any run below.
const BUSY_TICKS = 50;

/** The child of `parent` that is computing a task: its CPU time grows by BUSY_TICKS while we watch. */
async function computingChild(parent: number, withinMs = 10_000): Promise<number | undefined> {
  const first = new Map<number, number>();
  let found: number | undefined;
  await eventually(() => {
    for (const { pid } of slowlaneChildren({ parent })) {
      const ticks = cpuTicks(pid);
      const start = first.get(pid);
      if (start === undefined) first.set(pid, ticks);
      else if (ticks - start >= BUSY_TICKS) found = pid;
    }
    return found !== undefined;
  }, withinMs);
  return found;
}

function start(recipe: Recipe, timeoutMs: number): Promise<ServerProcess> {
  return startListening(process.execPath, [`${ROOT}${recipe.entry}`], { env: { ...process.env, PORT: '0', TIMEOUT_MS: String(timeoutMs) } });
}

/** One line, newline-terminated, with no stack frame and nothing of the server's file layout. */
function expectOneSafeLine(body: string): void {
  expect(body).to.match(/^[^\n]+\n$/);
  expect(body).not.to.match(/\bat .*:\d+:\d+/);
  expect(body).not.to.include('file://');
  expect(body).not.to.include(ROOT);
}

for (const recipe of RECIPES) {
  describe(`${recipe.name} recipe (${recipe.entry})`, () => {
    let server: ServerProcess;

    before(async function () {
      if (recipe.build !== undefined) {
        this.timeout(60_000); // a compile on a shared machine
        const built = await runCommand(process.execPath, [`${ROOT}node_modules/typescript/bin/tsc`, '-p', `${ROOT}${recipe.build}`], 55_000);
        expect(built.code, `tsc -p ${recipe.build}: ${built.stdout}${built.stderr}`).to.equal(0);
      }
      // A timeout far past the client-gone test's wait: only the signal can end that run in time.
      server = await start(recipe, 60_000);
    });
    after(async () => {
      await server?.stop(2000); // undefined if before() failed
    });

    it('answers 200 with the digest, and a task\'s object as JSON', async () => {
      const answer = await request(`${server.url}/hash?text=hi`);
      expect(answer.status).to.equal(200);
      expect(answer.headers['content-type']).to.match(/^text\/plain/);
      expect(answer.body).to.equal('9e9ea3c31a03ffce2e1b2bdd1ffb3b452795d9aa505766903342467d050f51ba'); // hashMany('hi', 100_000)
      const entries = await request(`${server.url}/entries?json=${encodeURIComponent('{"a":1,"b":[2,3]}')}`);
      expect(entries.status).to.equal(200);
      expect(entries.headers['content-type']).to.match(/^application\/json/);
      expect(JSON.parse(entries.body)).to.deep.equal({ entries: 2 });
    });

    it('answers bad input with 400 and one line', async () => {
      expect(await request(`${server.url}/hash?nothing=1`)).to.include({ status: 400, body: 'missing query argument: text\n' });
      expect(await request(`${server.url}/hash?text=hi&rounds=0`)).to.include({ status: 400, body: 'rounds must be a whole number from 1 to 50000000\n' });
    });

    it('answers a task that throws with 500 and one line, the stack going to the server\'s log only', async () => {
      const answer = await request(`${server.url}/entries?json=${encodeURIComponent('{oops')}`);
      expect(answer.status).to.equal(500);
      expect(answer.body).to.match(/^task "countEntries" failed: SyntaxError: /);
      expectOneSafeLine(answer.body);
      expect(await eventually(() => /at countEntries .*tasks\.mjs/.test(server.stderr()), 5000), `the log has the stack: ${server.stderr()}`).to.equal(true);
    });

    it('kills the child of a run whose client leaves, logs nothing for it, and keeps serving', async function () {
      this.timeout(30_000); // two bounded waits of 10 s: a shared machine may start the run slowly
      const client = new AbortController();
      const pending = request(`${server.url}/hash?text=gone&${LONG}`, { signal: client.signal }).catch((error: unknown) => error);
      const pid = await computingChild(server.pid);
      expect(pid, 'a child computing the run').to.be.a('number');
      client.abort(); // destroys the request's socket mid-run
      expect(await pending).to.have.property('name', 'AbortError');
      const gone = await eventually(() => !slowlaneChildren({ parent: server.pid }).some((child) => child.pid === pid), 10_000);
      expect(gone, `child ${pid} still runs the abandoned task`).to.equal(true);
      expect((await request(`${server.url}/hash?text=hi`)).status).to.equal(200);
      expect(server.stderr()).not.to.include('AbortError');
    });

    it('answers a run past the pool\'s timeoutMs with 504 and one line', async () => {
      // Its own server: a timeout this short would cut the other tests' runs.
      const short = await start(recipe, 300);
      try {
        const answer = await request(`${short.url}/hash?text=x&${LONG}`);
        expect(answer.status).to.equal(504);
        expect(answer.body).to.equal('task "hashMany" timed out after 300 ms; its child process was killed\n');
        expectOneSafeLine(answer.body);
      } finally {
        await short.stop(2000);
      }
    });

    // Only the Fastify recipe bounds its queue (the plugin's maxQueue, 100);
    // the others call pool.run(), whose queue is unbounded.
    if (recipe.name === 'Fastify') {
      it('answers a run past a full queue with 503 and Retry-After: its error handler keeps the failure\'s headers', async function () {
        this.timeout(40_000);
        const full = await start(recipe, 60_000);
        // One controller per client: a hundred listeners on one signal would be a leak warning.
        const clients = Array.from({ length: 102 }, () => new AbortController());
        try {
          // Two runs take the children, a hundred wait: the plugin's queue is full.
          const held = clients.map((client, i) => request(`${full.url}/hash?text=held${i}&${LONG}`, { signal: client.signal }).catch(() => undefined));
          // A probe that is still queued (the hundred not all in yet) leaves after 0.5 s, and its run with it.
          let refused: Awaited<ReturnType<typeof request>> | undefined;
          for (const deadline = Date.now() + 20_000; refused === undefined && Date.now() < deadline;) {
            const probe = await request(`${full.url}/hash?text=probe&${LONG}`, { signal: AbortSignal.timeout(500) }).catch(() => undefined);
            if (probe?.status === 503) refused = probe;
          }
          expect(refused, 'a request past the full queue answered 503').not.to.equal(undefined);
          expect(refused!.headers['retry-after']).to.equal('1');
          expect(refused!.body).to.match(/^server busy: /);
          expectOneSafeLine(refused!.body);
          for (const client of clients) client.abort();
          await Promise.all(held);
        } finally {
          for (const client of clients) client.abort();
          await full.stop(2000);
        }
      });
    }

    it('on SIGTERM finishes the request in flight, then exits and leaves no child', async function () {
      this.timeout(60_000); // a child at niceness 19 on a busy machine may take many times its CPU time
      // About 1 s of CPU, twice BUSY_TICKS: found computing at 0.5 s, still running when the signal arrives.
      const inFlight = request(`${server.url}/hash?text=last&rounds=1000000`);
      expect(await computingChild(server.pid), 'a child computing the last request').to.be.a('number');
      const children = slowlaneChildren({ parent: server.pid }).map((child) => child.pid);
      server.child.kill('SIGTERM');
      const answer = await inFlight;
      expect(answer.status).to.equal(200);
      expect(answer.body).to.match(/^[0-9a-f]{64}$/);
      expect(await server.exited).to.deep.equal(recipe.exit);
      expect(children.filter(isAlive), 'children still alive after the server exited').to.deep.equal([]);
    });
  });
}
