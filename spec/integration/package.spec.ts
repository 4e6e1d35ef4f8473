// The package as a user gets it: packed from the sources alone (prepack
// builds dist/), installed from the tarball into an empty project, then
// imported from ESM, required from CommonJS, type-checked from a CommonJS
// TypeScript file, and its commands run.
import { expect } from 'chai';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runCommand } from '../../tools/server-process.js';

describe('the packed package, installed', function () {
  this.timeout(90_000);
  let dir: string;
  let app: string;
  let files: string[];
  const inApp = (command: string, args: readonly string[]) => runCommand(command, args, 60_000, { cwd: app });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'slowlane-pack-'));
    // A checkout without dist/: only what git tracks for the package, and the dev tools.
    const source = join(dir, 'source');
    mkdirSync(join(source, 'deploy'), { recursive: true });
    for (const entry of ['lib', 'bin', 'docs', 'package.json', 'tsconfig.json', 'README.md', 'LICENSE']) cpSync(join(ROOT, entry), join(source, entry), { recursive: true });
    cpSync(join(ROOT, 'deploy/nginx.conf.template'), join(source, 'deploy/nginx.conf.template'));
    symlinkSync(join(ROOT, 'node_modules'), join(source, 'node_modules'));
    const pack = await runCommand('npm', ['pack', '--json', '--pack-destination', dir], 60_000, { cwd: source });
    expect(pack.code, pack.stderr).to.equal(0);
    const [packed] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
    files = packed!.files.map((f) => f.path);
    app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), '{ "name": "app", "private": true }\n');
    writeFileSync(join(app, 'tasks.mjs'), 'export function add(a, b) { return a + b; }\n');
    const install = await inApp('npm', ['install', '--offline', '--no-audit', '--no-fund', join(dir, packed!.filename)]);
    expect(install.code, install.stderr).to.equal(0);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('holds dist/ with types, the bins, the nginx template, README, docs/ and LICENSE; no source maps, tests or sources', () => {
    for (const file of ['dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/lib/demo/index.js', 'dist/lib/pool/in-child/entry.js', 'bin/server', 'bin/call-multi', 'deploy/nginx.conf.template', 'README.md', 'docs/monsters.md', 'docs/fast-latency.svg', 'LICENSE', 'package.json']) {
      expect(files, file).to.include(file);
    }
    expect(files.filter((f) => f.endsWith('.map') || f.startsWith('dist/spec') || f.startsWith('dist/bench') || f.startsWith('lib/'))).to.deep.equal([]);
  });

  it('ESM: import { ChildPool } from "slowlane" runs a task', async () => {
    writeFileSync(join(app, 'esm.mjs'), [
      "import { ChildPool } from 'slowlane';",
      "const pool = new ChildPool({ tasks: new URL('./tasks.mjs', import.meta.url) });",
      "console.log('esm', await pool.run('add', [2, 3]));",
      'await pool.close();',
    ].join('\n'));
    const run = await inApp(process.execPath, ['esm.mjs']);
    expect(run).to.include({ stdout: 'esm 5\n', code: 0 });
  });

  it('CommonJS: require("slowlane") runs a task, with no warning', async () => {
    writeFileSync(join(app, 'cjs.cjs'), [
      "const { ChildPool } = require('slowlane');",
      "const pool = new ChildPool({ tasks: require('node:path').join(__dirname, 'tasks.mjs') });",
      "pool.run('add', [4, 5]).then((sum) => { console.log('cjs', sum); return pool.close(); });",
    ].join('\n'));
    const run = await inApp(process.execPath, ['cjs.cjs']);
    expect(run).to.include({ stdout: 'cjs 9\n', stderr: '', code: 0 });
  });

  it('a CommonJS TypeScript file type-checks against the installed types, typed tasks included', async () => {
    writeFileSync(join(app, 'check.cts'), [
      "import { ChildPool, offload } from 'slowlane';",
      'type Tasks = { add(a: number, b: number): number };',
      "const pool = new ChildPool<Tasks>({ tasks: __dirname + '/tasks.mjs' });",
      "const sum: Promise<number> = pool.run('add', [1, 2]);",
      '// @ts-expect-error wrong argument type',
      "void pool.run('add', ['1', 2]);",
      'void sum; void offload;',
    ].join('\n'));
    const tsc = await inApp(join(ROOT, 'node_modules/.bin/tsc'), ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules/@types'), 'check.cts']);
    expect(tsc.stdout + tsc.stderr).to.equal('');
    expect(tsc.code).to.equal(0);
  });

  it('"slowlane/fastify": without Fastify, a line naming the package to install; with it, imported from ESM and CommonJS', async () => {
    const missing = await inApp(process.execPath, ['--input-type=module', '-e', "await import('slowlane/fastify')"]);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.include('slowlane/fastify needs Fastify 5: install it with `npm install fastify@5`');
    // The root needs nothing of it.
    expect((await inApp(process.execPath, ['--input-type=module', '-e', "await import('slowlane'); console.log('root ok')"])).stdout).to.equal('root ok\n');
    // Installed as the app would have it (npm's offline cache lacks some of its dependencies' metadata, so linked from ours).
    symlinkSync(join(ROOT, 'node_modules/fastify'), join(app, 'node_modules/fastify'));
    const route = [
      "const app = Fastify(); await app.register(slowlane, { pool: new ChildPool({ tasks: TASKS }) });",
      "app.get('/', async (req, reply) => reply.offload('add', [2, 3]));",
      "const answer = await app.inject('/'); console.log(answer.statusCode, answer.body); await app.close(); process.exit(0);",
    ];
    writeFileSync(join(app, 'fastify-esm.mjs'), [
      "import Fastify from 'fastify'; import slowlane from 'slowlane/fastify'; import { ChildPool } from 'slowlane';",
      "const TASKS = new URL('./tasks.mjs', import.meta.url);",
      ...route,
    ].join('\n'));
    expect(await inApp(process.execPath, ['fastify-esm.mjs'])).to.include({ stdout: '200 5\n', code: 0 });
    writeFileSync(join(app, 'fastify-cjs.cjs'), [
      "const Fastify = require('fastify'); const slowlane = require('slowlane/fastify').default; const { ChildPool } = require('slowlane');",
      "const TASKS = require('node:path').join(__dirname, 'tasks.mjs');",
      '(async () => {', ...route, '})();',
    ].join('\n'));
    expect(await inApp(process.execPath, ['fastify-cjs.cjs'])).to.include({ stdout: '200 5\n', stderr: '', code: 0 });
  });

  it('"slowlane/queue" without BullMQ: importing works, making a QueueRunner says what to install', async () => {
    const run = await inApp(process.execPath, ['--input-type=module', '-e', [
      "const { QueueRunner } = await import('slowlane/queue');",
      "try { new QueueRunner({ connection: { host: '127.0.0.1', port: 1 }, queue: 'q' }); } catch (error) { console.log(error.message); }",
    ].join('\n')]);
    expect(run).to.include({ stdout: 'slowlane/queue needs bullmq: install it with `npm install bullmq ioredis`\n', code: 0 });
  });

  it('without @opentelemetry/api, runs work and diagnostics_channel still tells of them', async () => {
    writeFileSync(join(app, 'no-otel.mjs'), [
      "import { subscribe } from 'node:diagnostics_channel'; import { createRequire } from 'node:module'; import { ChildPool } from 'slowlane';",
      "let api = true; try { createRequire(import.meta.resolve('slowlane')).resolve('@opentelemetry/api'); } catch { api = false; }",
      "const ends = []; subscribe('slowlane:run:end', (event) => ends.push(event));",
      "const pool = new ChildPool({ tasks: new URL('./tasks.mjs', import.meta.url), niceness: 0 });",
      "const sum = await pool.run('add', [2, 3]); const [end] = ends;",
      "console.log(api, sum, ends.length, end.task, end.outcome, typeof end.pid, end.traceId);",
      'await pool.close();',
    ].join('\n'));
    expect(await inApp(process.execPath, ['no-otel.mjs'])).to.include({ stdout: 'false 5 1 add completed number undefined\n', stderr: '', code: 0 });
  });

  it("with the app's @opentelemetry/api and SDK: slowlane resolves the app's copy, its run span is a child of the app's span", async () => {
    // Installed as the app would have them (hoisted to its node_modules), linked from ours as Fastify is above.
    symlinkSync(join(ROOT, 'node_modules/@opentelemetry'), join(app, 'node_modules/@opentelemetry'));
    writeFileSync(join(app, 'otel.mjs'), [
      "import { context, trace } from '@opentelemetry/api'; import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';",
      "import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';",
      "import { createRequire } from 'node:module'; import { ChildPool } from 'slowlane';",
      "const fromSlowlane = createRequire(import.meta.resolve('slowlane')).resolve('@opentelemetry/api');",
      "console.log('same copy', fromSlowlane === createRequire(import.meta.url).resolve('@opentelemetry/api'));",
      'const exporter = new InMemorySpanExporter();',
      'context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());',
      'trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));',
      "const pool = new ChildPool({ tasks: new URL('./tasks.mjs', import.meta.url), niceness: 0 });",
      "const request = await trace.getTracer('app').startActiveSpan('request', async (span) => { await pool.run('add', [2, 3]); span.end(); return span.spanContext(); });",
      "const runs = exporter.getFinishedSpans().filter((s) => s.name === 'slowlane.run add');",
      "console.log('run spans', runs.length, runs[0]?.parentSpanContext?.spanId === request.spanId);",
      'await pool.close();',
    ].join('\n'));
    expect(await inApp(process.execPath, ['otel.mjs'])).to.include({ stdout: 'same copy true\nrun spans 1 true\n', stderr: '', code: 0 });
  });

  it('the demo is at "slowlane/demo", not in the root', async () => {
    const run = await inApp(process.execPath, ['--input-type=module', '-e', "const root = await import('slowlane'); const demo = await import('slowlane/demo'); console.log(typeof root.startSlowlane, typeof demo.startSlowlane)"]);
    expect(run.stdout).to.equal('undefined function\n');
  });

  it('the commands: slowlane and slowlane-call-multi --version; nginx-config finds its template', async () => {
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    for (const bin of ['slowlane', 'slowlane-call-multi']) {
      expect(await inApp(join(app, 'node_modules/.bin', bin), ['--version'])).to.include({ stdout: `${version}\n`, code: 0 });
    }
    const nginx = await inApp(join(app, 'node_modules/.bin/slowlane'), ['nginx-config', '--fast', '127.0.0.1:8001', '--slow', '127.0.0.1:8101']);
    expect(nginx.code).to.equal(0);
    expect(nginx.stdout).to.match(/upstream slowlane_fast \{\n\s+server 127\.0\.0\.1:8001/);
  });
});
