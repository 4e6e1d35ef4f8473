// The docs' snippet markers: what a block claims, and what makes the docs test fail.
import { expect } from 'chai';
import { definedTargets, extractDoc, isShipped, makeTargets, npmInstalls, repoPaths } from '../support/doc-snippets.js';

const fence = '```';

describe('extractDoc', () => {
  it('reads each marker into a kind, a file and a request', () => {
    const { snippets, errors } = extractDoc('d.md', [
      '<!-- snippet: run server.mjs GET /hash?text=hi 200 -->',
      `${fence}js`, "console.log('listening');", fence,
      '',
      '<!-- snippet: file src/tasks.ts -->',
      '',
      `${fence}ts`, 'export {};', fence,
      '<!-- snippet: command GET / 204 -->',
      `${fence}sh`, 'npm install slowlane', 'node main.js', fence,
    ].join('\n'));
    expect(errors).to.deep.equal([]);
    expect(snippets.map(({ kind, file, expect: e, lang, line }) => ({ kind, file, e, lang, line }))).to.deep.equal([
      { kind: 'run', file: 'server.mjs', e: { method: 'GET', path: '/hash?text=hi', status: 200 }, lang: 'js', line: 2 },
      { kind: 'file', file: 'src/tasks.ts', e: undefined, lang: 'ts', line: 8 },
      { kind: 'command', file: undefined, e: { method: 'GET', path: '/', status: 204 }, lang: 'sh', line: 12 },
    ]);
    expect(snippets[0]!.body).to.equal("console.log('listening');\n");
  });

  it('fails a block without a marker, or with one it cannot read', () => {
    const { snippets, errors } = extractDoc('d.md', [
      'Some text.', '', `${fence}js`, 'x();', fence,
      '<!-- snippet: runn a.mjs -->', `${fence}js`, 'y();', fence,
      '<!-- snippet: run -->', `${fence}js`, 'z();', fence,
      '<!-- snippet: run a.mjs POST / 200 -->', `${fence}js`, 'z();', fence,
      '<!-- snippet: file ../up.mjs -->', `${fence}js`, 'z();', fence,
    ].join('\n'));
    expect(snippets).to.deep.equal([]);
    expect(errors).to.have.length(5);
    expect(errors[0]).to.match(/^d\.md:3: a code block without a snippet marker/);
    expect(errors[1]).to.match(/^d\.md:7: unknown snippet kind "runn"/);
    expect(errors[2]).to.match(/^d\.md:11: "run" needs a file path/);
    expect(errors[3]).to.match(/^d\.md:15: a request is written "GET \/path STATUS"/);
    expect(errors[4]).to.match(/^d\.md:19: "file" needs a file path inside the app/);
  });

  it('a marker only counts on the line before its fence, text between them breaks it', () => {
    const { errors } = extractDoc('d.md', ['<!-- snippet: text -->', 'a paragraph', `${fence}`, 'out', fence].join('\n'));
    expect(errors).to.have.length(1);
  });

  it('knows the sections whose heading says "from a clone", down to the next heading as high', () => {
    const { snippets, prose } = extractDoc('d.md', [
      '## Start', 'a', '### From a clone', 'b', '<!-- snippet: clone -->', `${fence}sh`, 'make test', fence, '#### Deeper', 'c', '### From npm', 'd',
    ].join('\n'));
    expect(snippets[0]!.inCloneSection).to.equal(true);
    expect(prose.filter((p) => /^[a-d]$/.test(p.text)).map((p) => [p.text, p.inCloneSection])).to.deep.equal([['a', false], ['b', true], ['c', true], ['d', false]]);
  });

  it('leaves HTML comments out of the prose and its links, and keeps relative links only', () => {
    const { prose, links } = extractDoc('d.md', ['See [x](docs/x.md) <!-- [y](y.md) -->', '<!--', '[z](z.md)', '-->', '[w](https://e.org) [v](#api)'].join('\n'));
    expect(links).to.deep.equal([{ line: 1, target: 'docs/x.md' }]);
    expect(prose.map((p) => p.text).join('|')).not.to.include('z.md');
  });
});

describe('the docs checks', () => {
  it('finds repository paths, with or without node_modules/slowlane/ before them', () => {
    expect(repoPaths('see lib/defaults.ts, `node_modules/slowlane/dist/lib/defaults.js` and examples/ but not a/lib/x or /opt/slowlane/bin/server'))
      .to.deep.equal(['lib/defaults.ts', 'dist/lib/defaults.js']);
  });

  it('takes a path as shipped when it is a packed file or a folder holding one', () => {
    const shipped = ['dist/lib/index.js', 'docs/demo.md'];
    expect(['dist/lib/index.js', 'dist/lib/', 'docs', 'lib/index.ts', 'dist/lib/ind'].map((path) => isShipped(path, shipped))).to.deep.equal([true, true, true, false, false]);
  });

  it('reads make targets, Makefile targets and npm install lines', () => {
    expect(makeTargets('make start   # then\nNICENESS=1 make bench; cmake x')).to.deep.equal(['start', 'bench']);
    expect([...definedTargets('.PHONY: a\ninstall: $(X)\n\tnpm ci\ntest: build\n')]).to.deep.equal(['install', 'test']);
    expect(npmInstalls('npm install slowlane fastify@5 @nestjs/core@^11\nnpm install --save-dev typescript # the compiler\nnode x')).to.deep.equal(['slowlane', 'fastify', '@nestjs/core', 'typescript']);
  });
});
