// /export, the streamed route: first byte, the server's memory while a whole
// region streams, /fast while two exports run, rows a second against the
// same iterate() loop run inline (which blocks its loop meanwhile), and a
// reader held to 100 KiB/s.
import http from 'node:http';
import { readRssMb } from '../lib/pool/os/memory.js';
import { defaultOrdersPath } from '../lib/demo/orders/orders-db.js';
import { exportCsv } from '../lib/demo/orders/orders-schema.js';
import { loadSqlite } from '../lib/demo/orders/sqlite.js';
import { fastLoad, keepInFlight } from './load.js';
import { round, summarize } from './numbers.js';
import type { Running } from './processes.js';

const REGION = 'north';
const DAYS = 365;

export interface ExportRun {
  firstByteMs: number;
  totalMs: number;
  rows: number;
  bytes: number;
  rssGrowthMb: number;
}

/** Samples the server's RSS every 10 ms until stop(); returns the largest growth over `before`. */
function watchRss(pid: number): { stop: () => number } {
  const before = readRssMb(pid) ?? 0;
  let most = before;
  const timer = setInterval(() => (most = Math.max(most, readRssMb(pid) ?? 0)), 10);
  return { stop: () => (clearInterval(timer), round(most - before, 1)) };
}

/** One whole export, read as fast as it comes (or at `bytesPerSecond`), with the server's RSS watched. */
export function exportOnce(server: Running, bytesPerSecond = Infinity, maxMs = 60_000): Promise<ExportRun> {
  const rss = watchRss(server.pid);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    let firstByteMs = 0;
    let bytes = 0;
    let rows = 0;
    const req = http.get(`${server.url}/export?region=${REGION}&days=${DAYS}`, { agent: false }, (res) => {
      res.on('data', (chunk: Buffer) => {
        if (bytes === 0) firstByteMs = performance.now() - started;
        bytes += chunk.length;
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) rows += 1;
        if (bytesPerSecond !== Infinity) {
          // Held to the rate: pause for as long as this chunk takes at it.
          res.pause();
          setTimeout(() => res.resume(), (chunk.length / bytesPerSecond) * 1000);
        }
        if (performance.now() - started > maxMs) req.destroy();
      });
      const done = () => resolve({ firstByteMs: round(firstByteMs), totalMs: Math.round(performance.now() - started), rows: rows - 1, bytes, rssGrowthMb: rss.stop() });
      res.on('end', done);
      res.on('close', done);
    });
    req.on('error', (error) => (rss.stop(), reject(error)));
  });
}

/** The same rows through the same generator, on this loop: what a route that exports inline costs (it blocks everything meanwhile). */
function inlineExport(): { rows: number; ms: number } {
  const Sqlite = loadSqlite();
  if (Sqlite instanceof Error) throw Sqlite;
  const db = new Sqlite(defaultOrdersPath(), { readonly: true, fileMustExist: true });
  try {
    const started = performance.now();
    let rows = 0;
    for (const chunk of exportCsv(db, REGION, DAYS)) for (let i = chunk.indexOf('\n'); i !== -1; i = chunk.indexOf('\n', i + 1)) rows += 1;
    return { rows: rows - 1, ms: Math.round(performance.now() - started) };
  } finally {
    db.close();
  }
}

export async function exportsBench(server: Running, windowS: number) {
  await exportOnce(server); // the report child starts, the file is in the page cache
  const alone = await exportOnce(server);
  const inline = inlineExport();
  const idle = summarize((await fastLoad(server.url, windowS)).samples.map((s) => s.latency));
  const two = keepInFlight((i, j) => `${server.url}/export?region=${REGION}&days=${DAYS}&id=${i}-${j}`, 2);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const loaded = summarize((await fastLoad(server.url, windowS)).samples.map((s) => s.latency));
  await two.stop();
  const slowReader = await exportOnce(server, 100 * 1024, 3000);
  return {
    rows: alone.rows,
    bytes: alone.bytes,
    firstByteMs: alone.firstByteMs,
    totalMs: alone.totalMs,
    rowsPerSecond: Math.round(alone.rows / (alone.totalMs / 1000)),
    rssGrowthMb: alone.rssGrowthMb,
    inline: { rows: inline.rows, ms: inline.ms, rowsPerSecond: Math.round(inline.rows / (inline.ms / 1000)), loopBlockedMs: inline.ms },
    fastIdleP99: idle.p99,
    fastTwoExportsP99: loaded.p99,
    fastP99Ratio: round(loaded.p99 / idle.p99),
    slowReader: { bytesIn3s: slowReader.bytes, rssGrowthMb: slowReader.rssGrowthMb },
  };
}
