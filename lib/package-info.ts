// Finds files of the slowlane package itself (package.json, the nginx
// template) from wherever this module runs: dist/lib in a checkout or an
// installed package, or lib/ when run from source.
import { existsSync, readFileSync } from 'node:fs';

let root: URL | undefined;

/** The folder that holds slowlane's package.json. */
export function packageRoot(): URL {
  if (root !== undefined) return root;
  for (let dir = new URL('./', import.meta.url); ; dir = new URL('../', dir)) {
    const manifest = new URL('package.json', dir);
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'slowlane') return (root = dir);
    if (dir.pathname === '/') throw new Error(`cannot find slowlane's package.json above ${import.meta.url}`);
  }
}

export function packageFile(relative: string): URL {
  return new URL(relative, packageRoot());
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string }).version;
}
