// The tasks module of /report_pool's children. Each child opens one
// read-only connection in setup() and closes it in teardown(): the pool's
// children are the connection pool, and a connection goes back (closes)
// whatever ends the child gracefully. A killed child's connection is closed
// by the kernel with the process; a reader in WAL mode holds no lock that
// outlives it.
import { exportCsv, runReport, type Region, type Report } from './orders-schema.js';
import { loadSqlite, type Connection } from './sqlite.js';

/** Set by the parent (ChildPool's env option): which database file to open. */
export const DB_PATH_ENV = 'SLOWLANE_ORDERS_DB';

let db: Connection | undefined;

export function setup(): void {
  const Sqlite = loadSqlite();
  if (Sqlite instanceof Error) throw Sqlite;
  const path = process.env[DB_PATH_ENV];
  if (path === undefined || path === '') throw new Error(`${DB_PATH_ENV} is not set: the pool must say which database to open`);
  db = new Sqlite(path, { readonly: true, fileMustExist: true });
}

export function teardown(): void {
  db?.close();
  db = undefined;
}

function connection(): Connection {
  if (db === undefined) throw new Error('no database connection: setup() did not run');
  return db;
}

export function report(region: Region, days: number): Report {
  return runReport(connection(), region, days);
}

/** /export: the region's orders as CSV, streamed (pool.stream()) in chunks of about 32 KiB. */
export function* exportOrders(region: Region, days: number): Generator<string> {
  yield* exportCsv(connection(), region, days);
}

/** Any read-only query on the child's connection (for tests and ad-hoc use). */
export function runSql(sql: string): unknown[] {
  return connection().prepare(sql).all();
}
