// The README and docs/ as a new npm user meets them: every fenced block is
// marked with what it claims (spec/support/doc-snippets.ts), the blocks that
// claim to run are written into a fresh app that has the packed tarball
// installed and run there (servers answer one request, scripts exit 0, the
// Nest recipe is compiled with its own tsconfig), commands for a clone name
// make targets and files the repository has, and nothing outside a part
// labelled "from a clone" names a file the package does not ship.
import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { request } from '../support/http.js';
import { definedTargets, extractDoc, isShipped, makeTargets, npmInstalls, repoPaths, type ExtractedDoc, type ProseLine, type Snippet } from '../support/doc-snippets.js';
import { ROOT, runCommand, startUntil, type StartedProcess } from '../../tools/server-process.js';

const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).sort().map((name) => `docs/${name}`)];
const EXTRACTED = new Map<string, ExtractedDoc>(DOCS.map((doc) => [doc, extractDoc(doc, readFileSync(join(ROOT, doc), 'utf8'))]));
const SNIPPETS = [...EXTRACTED.values()].flatMap((doc) => doc.snippets);
const where = (snippet: Snippet): string => `${snippet.doc}:${snippet.line}`;
// The app's own files, which share names with the repository's folders
// (dist/main.js): what the blocks write, and what tsc makes of src/ (the
// Nest recipe's tsconfig compiles src/ to dist/).
const APP_FILES = new Set(SNIPPETS.flatMap((s) => (s.file === undefined ? [] : [s.file, s.file.replace(/^src\/(.*)\.ts$/, 'dist/$1.js')])));

// The README's recipes are also the repository's examples/, which
// frameworks.spec.ts and examples.spec.ts put through failures, timeouts and
// clients that leave: the same bytes, so those tests cover what users copy.
const MIRRORS: Record<string, string> = {
  'tasks.mjs': 'examples/tasks.mjs',
  'http-server.mjs': 'examples/http-server.mjs',
  'express-server.mjs': 'examples/express-server.mjs',
  'fastify-server.mjs': 'examples/fastify-server.mjs',
  'koa-server.mjs': 'examples/koa-server.mjs',
  'hono-server.mjs': 'examples/hono-server.mjs',
  'stream-server.mjs': 'examples/stream-server.mjs',
  'tsconfig.json': 'examples/nest/tsconfig.json',
  'src/task-pool.ts': 'examples/nest/src/task-pool.ts',
  'src/hash.controller.ts': 'examples/nest/src/hash.controller.ts',
  'src/failure.filter.ts': 'examples/nest/src/failure.filter.ts',
  'src/main.ts': 'examples/nest/src/main.ts',
};

/** Prose lines joined into paragraphs (blank lines and list items part them), each at its first line. */
function paragraphs(lines: readonly ProseLine[]): ProseLine[] {
  const out: ProseLine[] = [];
  let previous = -1;
  for (const line of lines) {
    const last = out.at(-1);
    if (last !== undefined && line.line === previous + 1 && line.text.trim() !== '' && !/^\s*[-*|] /.test(line.text) && last.text.trim() !== '') last.text += ` ${line.text}`;
    else out.push({ ...line });
    previous = line.line;
  }
  return out;
}

/** A command line split into words; the docs' commands for an app use no shell syntax, so none is needed. */
function words(line: string): string[] {
  expect(line, `"${line}" needs a shell; write it as plain words`).not.to.match(/[|&;<>$`'"\\()]/);
  return line.trim().split(/\s+/);
}

/** Links an installed package from the checkout's node_modules into the app, with its commands. */
function linkPackage(app: string, name: string): void {
  const source = join(ROOT, 'node_modules', name);
  expect(existsSync(source), `npm install ${name}: not a package the repository has (node_modules/${name})`).to.equal(true);
  const target = join(app, 'node_modules', name);
  if (existsSync(target)) return;
  mkdirSync(dirname(target), { recursive: true });
  symlinkSync(source, target);
  const manifest = JSON.parse(readFileSync(join(source, 'package.json'), 'utf8')) as { name: string; bin?: string | Record<string, string> };
  const bins = typeof manifest.bin === 'string' ? { [manifest.name.replace(/^@.*\//, '')]: manifest.bin } : (manifest.bin ?? {});
  mkdirSync(join(app, 'node_modules/.bin'), { recursive: true });
  for (const [command, file] of Object.entries(bins)) {
    if (!existsSync(join(app, 'node_modules/.bin', command))) symlinkSync(join(source, file), join(app, 'node_modules/.bin', command));
  }
}

describe('the docs, run as written from the packed package', function () {
  this.timeout(60_000);
  let dir: string;
  let app: string;
  let shipped: string[];
  const started: StartedProcess[] = [];

  before(async function () {
    this.timeout(120_000);
    dir = mkdtempSync(join(tmpdir(), 'slowlane-docs-'));
    // dist/ is already built (these tests run from it): packed as it is, without prepack's rebuild.
    const pack = await runCommand('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], 60_000, { cwd: ROOT });
    expect(pack.code, pack.stderr).to.equal(0);
    const [packed] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
    shipped = packed!.files.map((file) => file.path);
    app = join(dir, 'app');
    mkdirSync(app);
    // The docs' own package.json, if they give one; npm install adds the dependency to it.
    const manifest = SNIPPETS.find((snippet) => snippet.kind === 'file' && snippet.file === 'package.json');
    writeFileSync(join(app, 'package.json'), manifest?.body ?? '{ "private": true }\n');
    const install = await runCommand('npm', ['install', '--offline', '--no-audit', '--no-fund', join(dir, packed!.filename)], 60_000, { cwd: app });
    expect(install.code, install.stderr).to.equal(0);
    // What the docs tell the user to install, from the checkout's node_modules
    // (no network): a package the docs forget is missing here too.
    for (const snippet of SNIPPETS.filter((s) => s.kind === 'command')) {
      for (const name of npmInstalls(snippet.body)) if (name !== 'slowlane') linkPackage(app, name);
    }
    for (const snippet of SNIPPETS.filter((s) => s.kind === 'file' || s.kind === 'run')) {
      if (snippet.file === 'package.json') continue;
      const path = join(app, snippet.file!);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, snippet.body);
    }
  });

  afterEach(async () => {
    await Promise.all(started.splice(0).map((process) => process.stop(3000)));
  });
  after(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('every code block carries a snippet marker that parses', () => {
    expect([...EXTRACTED.values()].flatMap((doc) => doc.errors)).to.deep.equal([]);
    expect(SNIPPETS.filter((s) => s.kind === 'run').length, 'runnable snippets found').to.be.greaterThan(5);
  });

  it('no two blocks write the same file', () => {
    const seen = new Map<string, string>();
    const twice: string[] = [];
    for (const snippet of SNIPPETS.filter((s) => s.file !== undefined)) {
      const before = seen.get(snippet.file!);
      if (before !== undefined) twice.push(`${snippet.file} at ${before} and ${where(snippet)}`);
      seen.set(snippet.file!, where(snippet));
    }
    expect(twice).to.deep.equal([]);
  });

  it('the README\'s recipes are byte for byte the repository\'s examples/, which the framework tests run', () => {
    for (const [file, example] of Object.entries(MIRRORS)) {
      const snippet = SNIPPETS.find((s) => s.file === file);
      expect(snippet, `a README block for ${file}`).not.to.equal(undefined);
      expect(snippet!.body, `${where(snippet!)} and ${example} differ`).to.equal(readFileSync(join(ROOT, example), 'utf8'));
    }
  });

  it('outside parts labelled "from a clone", names only files the package ships, and make targets only as the repository\'s', () => {
    const problems: string[] = [];
    for (const [doc, extracted] of EXTRACTED) {
      // The README is read on npm, prose and output included. A page of
      // docs/ whose opening says its commands are a clone's is a repository
      // page (shipped with it): there, what a user copies must hold.
      const opening = extracted.prose.slice(0, 12).map((p) => p.text).join(' ');
      const wholly = doc === 'README.md' || !/\bclone\b/.test(opening);
      const texts = [
        ...extracted.snippets.filter((s) => !s.inCloneSection && ['run', 'file', 'command', 'fragment'].includes(s.kind)).map((s) => ({ at: where(s), text: s.body })),
        ...(wholly ? extracted.snippets.filter((s) => !s.inCloneSection && s.kind === 'text').map((s) => ({ at: where(s), text: s.body })) : []),
        ...(wholly ? paragraphs(extracted.prose.filter((p) => !p.inCloneSection)).map((p) => ({ at: `${doc}:${p.line}`, text: p.text })) : []),
      ];
      for (const { at, text } of texts) {
        for (const path of repoPaths(text)) if (!isShipped(path, shipped) && !APP_FILES.has(path)) problems.push(`${at}: ${path}`);
        // A make target is a command for a clone: the paragraph must say so.
        if (!/\b(clone|repository)\b/i.test(text)) for (const target of makeTargets(text)) problems.push(`${at}: make ${target}, not labelled as the repository's`);
      }
    }
    expect(problems).to.deep.equal([]);
  });

  it('every relative link points at a file the package ships', () => {
    const broken: string[] = [];
    for (const [doc, extracted] of EXTRACTED) {
      for (const { line, target } of extracted.links) {
        const path = normalize(join(dirname(doc), target.replace(/#.*$/, '')));
        if (!isShipped(path, shipped)) broken.push(`${doc}:${line}: ${target}`);
      }
    }
    expect(broken).to.deep.equal([]);
  });

  it('commands for a clone name make targets the Makefile has and files the repository has', () => {
    const targets = definedTargets(readFileSync(join(ROOT, 'Makefile'), 'utf8'));
    const clone = SNIPPETS.filter((s) => s.kind === 'clone');
    expect(clone.length, 'clone blocks found').to.be.greaterThan(2);
    const problems: string[] = [];
    for (const snippet of clone) {
      for (const target of makeTargets(snippet.body)) if (!targets.has(target)) problems.push(`${where(snippet)}: make ${target}`);
      for (const path of repoPaths(snippet.body)) {
        // Built files are named as they are after `make build`: their sources must exist.
        const source = path.replace(/^dist\/(.*)\.js$/, '$1.ts');
        if (!existsSync(join(ROOT, source))) problems.push(`${where(snippet)}: ${path}`);
      }
    }
    expect(problems).to.deep.equal([]);
  });

  it('JavaScript fragments parse', async () => {
    const fragments = SNIPPETS.filter((s) => s.kind === 'fragment' && ['js', 'mjs'].includes(s.lang));
    for (const [index, snippet] of fragments.entries()) {
      const file = join(dir, `fragment-${index}.mjs`);
      writeFileSync(file, snippet.body);
      const check = await runCommand(process.execPath, ['--check', file], 20_000);
      expect(check.code, `${where(snippet)}: ${check.stderr}`).to.equal(0);
    }
  });

  /** Starts a program; a server (one with an expectation) must print its address, answer, and stop on SIGTERM. */
  async function runProgram(snippet: Snippet, argv: string[]): Promise<void> {
    const [command, ...args] = argv;
    if (snippet.expect === undefined) {
      const run = await runCommand(command!, args, 50_000, { cwd: app });
      expect(run.code, `${where(snippet)}: ${argv.join(' ')} exited ${run.code}: ${run.stderr}`).to.equal(0);
      return;
    }
    const server = await startUntil(command!, args, /listening on (http:\/\/\S+)/, { cwd: app, env: { ...process.env, PORT: '0' } });
    started.push(server);
    const answer = await request(`${server.ready[1]!.replace(/\/$/, '')}${snippet.expect.path}`);
    expect(answer.status, `${where(snippet)}: GET ${snippet.expect.path} answered ${answer.status} ${answer.body}`).to.equal(snippet.expect.status);
    await server.stop(5000);
    // Its own SIGTERM handler ends it with 0; Nest's re-raises the signal.
    const exit = await server.exited;
    expect(exit.code === 0 || exit.signal === 'SIGTERM', `${where(snippet)}: ended with ${JSON.stringify(exit)}: ${server.stderr()}`).to.equal(true);
  }

  for (const snippet of SNIPPETS.filter((s) => s.kind === 'run')) {
    it(`${where(snippet)}: node ${snippet.file}${snippet.expect ? ` answers GET ${snippet.expect.path} with ${snippet.expect.status}` : ' exits 0'}`, () => runProgram(snippet, [process.execPath, snippet.file!]));
  }

  for (const snippet of SNIPPETS.filter((s) => s.kind === 'command')) {
    const lines = snippet.body.split('\n').map((line) => line.replace(/\s+#.*$/, '').trim()).filter((line) => line !== '' && !line.startsWith('#') && npmInstalls(line).length === 0);
    if (lines.length === 0) continue; // only npm install lines: linked in before()
    it(`${where(snippet)}: ${lines.join(' && ')}`, async function () {
      this.timeout(120_000); // a TypeScript compile on a shared machine
      for (const line of lines.slice(0, -1)) {
        const run = await runCommand(words(line)[0]!, words(line).slice(1), 100_000, { cwd: app });
        expect(run.code, `${where(snippet)}: ${line}: ${run.stdout}${run.stderr}`).to.equal(0);
      }
      await runProgram(snippet, words(lines.at(-1)!).map((word, index) => (index === 0 && word === 'node' ? process.execPath : word)));
    });
  }
});
