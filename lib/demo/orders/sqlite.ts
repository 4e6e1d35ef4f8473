// better-sqlite3 is the demo's, not the library's: a development dependency
// of this checkout that an installed slowlane does not pull in. When it is
// missing, or built for another Node, the report routes say how to get it
// instead of failing to start.
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

export type Sqlite = typeof BetterSqlite3;
export type Connection = BetterSqlite3.Database;

/** better-sqlite3's constructor, or the reason it cannot be loaded. */
export function loadSqlite(load: (name: string) => unknown = createRequire(import.meta.url)): Sqlite | Error {
  try {
    const Sqlite = load('better-sqlite3') as Sqlite;
    // Its native part loads on the first open, not on require(): open one here,
    // so a build for another Node fails now, with the line below.
    new Sqlite(':memory:').close();
    return Sqlite;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    // A native module built under another Node (nvm use 22 after an install on
    // 20) is installed but cannot be opened: reinstalling it would not help.
    if (code === 'ERR_DLOPEN_FAILED' && /NODE_MODULE_VERSION/.test(String((error as Error).message))) {
      return new Error(`better-sqlite3 was built for another Node version than this one (${process.version}): run "npm rebuild better-sqlite3" to enable the report routes`);
    }
    return new Error(`better-sqlite3 is not installed (${code}): run "npm install better-sqlite3@12" to enable the report routes`);
  }
}
