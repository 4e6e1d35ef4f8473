// The one task that builds the demo database, run in a child so the server
// keeps answering while half a million rows are written. It writes a
// temporary file and renames it into place, so a build that dies halfway
// leaves nothing a later start would take for a finished database.
import { mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fillOrders } from './orders-schema.js';
import { loadSqlite } from './sqlite.js';

export function buildOrders(path: string, rows: number, seed: number): number {
  const Sqlite = loadSqlite();
  if (Sqlite instanceof Error) throw Sqlite;
  mkdirSync(dirname(path), { recursive: true });
  removeAbandoned(path);
  const partial = `${path}.building-${process.pid}`;
  const db = new Sqlite(partial);
  try {
    fillOrders(db, rows, seed);
    // Back to one file before the rename (the WAL would stay behind under the old name).
    db.pragma('wal_checkpoint(TRUNCATE)');
  } catch (error) {
    db.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${partial}${suffix}`, { force: true });
    throw error;
  }
  db.close();
  renameSync(partial, path);
  return rows;
}

/** Partial files of builds whose process is gone (a server stopped while it built): nothing will finish them. */
function removeAbandoned(path: string): void {
  const prefix = `${basename(path)}.building-`;
  for (const name of readdirSync(dirname(path))) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number.parseInt(name.slice(prefix.length), 10);
    if (Number.isInteger(pid) && pid !== process.pid && isRunning(pid)) continue;
    rmSync(join(dirname(path), name), { force: true });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
