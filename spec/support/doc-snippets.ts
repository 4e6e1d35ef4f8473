// Reading the README's and docs/' fenced code blocks and what each one claims,
// for spec/integration/doc-snippets.spec.ts. Every block carries a marker, an
// HTML comment on the line before its fence (invisible on npm and GitHub):
//
//   <!-- snippet: run server.mjs GET /hash?text=hi 200 -->  a program: written to the app, run with node
//   <!-- snippet: file tasks.mjs -->                       a file other blocks use, written to the app
//   <!-- snippet: command GET /hash?text=hi 200 -->        shell lines an npm user types in the app
//   <!-- snippet: clone -->                                commands for a clone of the repository
//   <!-- snippet: fragment -->                             code shown in part, that cannot run alone
//   <!-- snippet: text -->                                 output, diagrams, configuration: not code
//
// A block without one is an error, so a new snippet cannot slip by untested.

export type SnippetKind = 'run' | 'file' | 'command' | 'clone' | 'fragment' | 'text';

/** One request a server snippet must answer, and the status it must answer with. */
export interface Expectation {
  method: 'GET';
  path: string;
  status: number;
}

export interface Snippet {
  doc: string;
  /** Line of the opening fence, 1-based. */
  line: number;
  lang: string;
  kind: SnippetKind;
  /** Where `run` and `file` blocks go in the app. */
  file?: string;
  expect?: Expectation;
  body: string;
  /** Inside a section whose heading says "from a clone". */
  inCloneSection: boolean;
}

export interface ProseLine {
  line: number;
  text: string;
  inCloneSection: boolean;
}

export interface ExtractedDoc {
  snippets: Snippet[];
  prose: ProseLine[];
  /** Relative link targets, as written. */
  links: { line: number; target: string }[];
  errors: string[];
}

const KINDS: readonly SnippetKind[] = ['run', 'file', 'command', 'clone', 'fragment', 'text'];
const MARKER = /^<!--\s*snippet:\s*(.*?)\s*-->$/;
const FENCE = /^(`{3,})(.*)$/;
const HEADING = /^(#{1,6})\s+(.*)$/;
const CLONE_HEADING = /from a clone/i;

function parseExpectation(words: string[], where: string, errors: string[]): Expectation | undefined {
  const [method, path, status] = words;
  if (words.length !== 3 || method !== 'GET' || !path?.startsWith('/') || !/^\d{3}$/.test(status ?? '')) {
    errors.push(`${where}: a request is written "GET /path STATUS", not "${words.join(' ')}"`);
    return undefined;
  }
  return { method, path, status: Number(status) };
}

/** Parses one marker's words into a kind and its arguments; errors say what a right one looks like. */
function parseMarker(text: string, where: string, errors: string[]): Pick<Snippet, 'kind' | 'file' | 'expect'> | undefined {
  const [kind, ...words] = text.split(/\s+/);
  if (!KINDS.includes(kind as SnippetKind)) {
    errors.push(`${where}: unknown snippet kind "${kind}"; use one of ${KINDS.join(', ')}`);
    return undefined;
  }
  switch (kind as SnippetKind) {
    case 'file':
    case 'run': {
      const [file, ...rest] = words;
      if (file === undefined || file.startsWith('/') || file.includes('..')) {
        errors.push(`${where}: "${kind}" needs a file path inside the app, such as "${kind} server.mjs"`);
        return undefined;
      }
      if (kind === 'file' && rest.length > 0) {
        errors.push(`${where}: "file" takes only a path`);
        return undefined;
      }
      if (rest.length === 0) return { kind: kind as SnippetKind, file };
      const expect = parseExpectation(rest, where, errors);
      return expect === undefined ? undefined : { kind: kind as SnippetKind, file, expect };
    }
    case 'command': {
      if (words.length === 0) return { kind: 'command' };
      const expect = parseExpectation(words, where, errors);
      return expect === undefined ? undefined : { kind: 'command', expect };
    }
    default:
      if (words.length > 0) errors.push(`${where}: "${kind}" takes no arguments`);
      return { kind: kind as SnippetKind };
  }
}

/** Every fenced block of one Markdown document, with its marker; the prose and links around them. */
export function extractDoc(doc: string, markdown: string): ExtractedDoc {
  const lines = markdown.split('\n');
  const out: ExtractedDoc = { snippets: [], prose: [], links: [], errors: [] };
  // The heading level that opened a "from a clone" section, while inside one.
  let cloneLevel: number | undefined;
  let inComment = false;
  for (let i = 0; i < lines.length; i += 1) {
    const text = lines[i]!;
    const where = `${doc}:${i + 1}`;
    const heading = HEADING.exec(text);
    if (heading) {
      const level = heading[1]!.length;
      if (cloneLevel !== undefined && level <= cloneLevel) cloneLevel = undefined;
      if (cloneLevel === undefined && CLONE_HEADING.test(heading[2]!)) cloneLevel = level;
    }
    const fence = FENCE.exec(text);
    if (fence) {
      const close = lines.findIndex((candidate, j) => j > i && /^`{3,}\s*$/.test(candidate) && candidate.trim().length >= fence[1]!.length);
      if (close === -1) {
        out.errors.push(`${where}: a code fence that is never closed`);
        break;
      }
      let before = i - 1;
      while (before >= 0 && lines[before]!.trim() === '') before -= 1;
      const marker = before >= 0 ? MARKER.exec(lines[before]!.trim()) : null;
      if (!marker) {
        out.errors.push(`${where}: a code block without a snippet marker; put <!-- snippet: KIND ... --> on the line before it (${KINDS.join(', ')})`);
      } else {
        const parsed = parseMarker(marker[1]!, where, out.errors);
        if (parsed) {
          out.snippets.push({ doc, line: i + 1, lang: fence[2]!.trim(), ...parsed, body: `${lines.slice(i + 1, close).join('\n')}\n`, inCloneSection: cloneLevel !== undefined });
        }
      }
      i = close;
      continue;
    }
    // HTML comments are not shown to a reader: neither prose nor links.
    let visible = text;
    if (inComment) {
      const end = visible.indexOf('-->');
      if (end === -1) continue;
      visible = visible.slice(end + 3);
      inComment = false;
    }
    visible = visible.replace(/<!--.*?-->/g, '');
    const open = visible.indexOf('<!--');
    if (open !== -1) {
      visible = visible.slice(0, open);
      inComment = true;
    }
    out.prose.push({ line: i + 1, text: visible, inCloneSection: cloneLevel !== undefined });
    for (const link of visible.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = link[1]!;
      if (!/^[a-z]+:/i.test(target) && !target.startsWith('#')) out.links.push({ line: i + 1, target });
    }
  }
  return out;
}

// A path as the repository spells it: a top-level folder of the checkout, then more.
const REPO_PATH = /(?<![\w./-])(?:node_modules\/slowlane\/)?((?:examples|lib|spec|bench|tools|dist|deploy|docs|bin|\.ci)\/[\w./*-]*[\w*])/g;

/** Repository paths named in a text, each as it would be found in the package. */
export function repoPaths(text: string): string[] {
  return [...text.matchAll(REPO_PATH)].map((found) => found[1]!);
}

/** True when `path` is a file the package ships, or a folder holding one. */
export function isShipped(path: string, shipped: readonly string[]): boolean {
  const clean = path.replace(/\/$/, '');
  return shipped.some((file) => file === clean || file.startsWith(`${clean}/`));
}

/** `make TARGET` in a text: the targets it names. */
export function makeTargets(text: string): string[] {
  return [...text.matchAll(/(?<![\w-])make\s+([a-z][\w-]*)/g)].map((found) => found[1]!);
}

/** The targets a Makefile defines. */
export function definedTargets(makefile: string): Set<string> {
  return new Set([...makefile.matchAll(/^([a-z][\w-]*):/gm)].map((found) => found[1]!));
}

/** Package names in `npm install` lines (flags and versions dropped). */
export function npmInstalls(body: string): string[] {
  const names: string[] = [];
  for (const line of body.split('\n')) {
    const found = /^\s*npm\s+(?:install|i)\s+(.*)$/.exec(line.replace(/#.*$/, ''));
    if (!found) continue;
    for (const word of found[1]!.trim().split(/\s+/)) {
      if (word.startsWith('-') || word === '') continue;
      names.push(word.replace(/(?<=.)@[^/]*$/, ''));
    }
  }
  return names;
}
