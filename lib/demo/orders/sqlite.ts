// better-sqlite3 is the demo's, not the library's: a development dependency
// of this checkout that an installed slowlane does not pull in. When it is
// missing, the report routes say how to get it instead of failing to start.
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

export type Sqlite = typeof BetterSqlite3;
export type Connection = BetterSqlite3.Database;

/** better-sqlite3's constructor, or the reason it cannot be loaded. */
export function loadSqlite(): Sqlite | Error {
  try {
    return createRequire(import.meta.url)('better-sqlite3') as Sqlite;
  } catch (error) {
    return new Error(`better-sqlite3 is not installed (${(error as NodeJS.ErrnoException).code ?? 'error'}): run "npm install better-sqlite3@12" to enable the report routes`);
  }
}
