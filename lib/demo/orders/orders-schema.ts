// The demo's orders: their table, the seeded generator that fills it, and
// the report query both report routes run. Pure functions over a connection.
import { ORDERS_DB_DEFAULTS } from '../../defaults.js';
import type { Connection } from './sqlite.js';

export const REGIONS = Object.freeze(['north', 'south', 'east', 'west', 'central'] as const);
export type Region = (typeof REGIONS)[number];

const PRODUCTS = 200;
const CUSTOMERS = 50_000;

// mulberry32: a small, well-known seeded generator; the same seed gives the same orders everywhere.
function seeded(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Creates the table and fills it with `rows` generated orders, in one transaction. */
export function fillOrders(db: Connection, rows: number, seed: number = ORDERS_DB_DEFAULTS.seed): void {
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    region TEXT NOT NULL,
    customer INTEGER NOT NULL,
    product TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    days_ago INTEGER NOT NULL
  )`);
  const insert = db.prepare('INSERT INTO orders (region, customer, product, amount_cents, days_ago) VALUES (?, ?, ?, ?, ?)');
  const random = seeded(seed);
  const pick = (n: number): number => Math.floor(random() * n);
  db.transaction(() => {
    for (let i = 0; i < rows; i += 1) {
      insert.run(REGIONS[pick(REGIONS.length)], pick(CUSTOMERS), `product-${String(pick(PRODUCTS)).padStart(3, '0')}`, 100 + pick(50_000), pick(ORDERS_DB_DEFAULTS.maxDays));
    }
  })();
}

export interface ReportRow {
  product: string;
  orders: number;
  customers: number;
  revenueCents: number;
}

export interface Report {
  region: Region;
  days: number;
  orders: number;
  revenueCents: number;
  top: ReportRow[];
}

// No index on purpose: the report scans the table, as the heavy report
// queries in most apps do, so it holds a loop for a noticeable time.
const TOP_SQL = `SELECT product, COUNT(*) AS orders, COUNT(DISTINCT customer) AS customers, SUM(amount_cents) AS revenueCents
  FROM orders WHERE region = ? AND days_ago < ? GROUP BY product ORDER BY revenueCents DESC, product LIMIT ?`;
const TOTAL_SQL = 'SELECT COUNT(*) AS orders, COALESCE(SUM(amount_cents), 0) AS revenueCents FROM orders WHERE region = ? AND days_ago < ?';

const EXPORT_SQL = 'SELECT id, customer, product, amount_cents, days_ago FROM orders WHERE region = ? AND days_ago < ? ORDER BY id';

/** Every order of a region over the last `days` days as CSV, a header line then one line a row, in chunks of about `chunkBytes`. */
export function* exportCsv(db: Connection, region: Region, days: number, chunkBytes = 32 * 1024): Generator<string> {
  let chunk = 'id,customer,product,amount_cents,days_ago\n';
  // iterate(): one row at a time from SQLite, never the whole result in memory.
  for (const row of db.prepare(EXPORT_SQL).iterate(region, days) as Iterable<{ id: number; customer: number; product: string; amount_cents: number; days_ago: number }>) {
    chunk += `${row.id},${row.customer},${row.product},${row.amount_cents},${row.days_ago}\n`;
    if (chunk.length >= chunkBytes) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}

/** The top products of a region over the last `days` days, and its totals. */
export function runReport(db: Connection, region: Region, days: number): Report {
  const top = db.prepare(TOP_SQL).all(region, days, ORDERS_DB_DEFAULTS.top) as ReportRow[];
  const total = db.prepare(TOTAL_SQL).get(region, days) as { orders: number; revenueCents: number };
  return { region, days, orders: total.orders, revenueCents: total.revenueCents, top };
}
