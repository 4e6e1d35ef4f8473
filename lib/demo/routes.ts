// The demo's routes, one small handler each, in one table. A route answers
// with a Reply, or takes the response over itself (an offloaded route);
// the server (server.ts) does the rest: parsing, logging, errors, shutdown.
import type http from 'node:http';
import { HttpError } from '../http/http-error.js';
import { offload, type OffloadOptions, type RequestHandler } from '../http/offload.js';
import type { ChildInfo, PoolLatency, PoolStats } from '../pool/child-pool.js';
import type { StreamRunner } from '../pool/task-types.js';
import type { LoopPressure } from '../http/loop-pressure.js';
import { METRICS_CONTENT_TYPE, toPrometheus } from './metrics.js';
import type { DemoPool } from './demo-pool.js';
import type { ReportTasks } from './orders/orders-db.js';
import type { Region, Report } from './orders/orders-schema.js';
import { reportArgs } from './orders/report-query.js';
import type { StatsSnapshot } from './server-stats.js';
import { MAX_INLINE_N, optionalN, requireId } from './slow-args.js';

/** What the report routes need of the orders database (OrdersDatabase). */
export interface OrdersSource {
  /** The report on the event loop, with the server's own connection; throws HttpError 503 while unavailable. */
  reportInline(region: Region, days: number): Report;
  /** Runs 'report' and streams 'exportOrders' in the pool's children. */
  readonly runner: StreamRunner<ReportTasks>;
  stats(): { state: string; path: string; pool?: PoolStats };
  latency(): PoolLatency | undefined;
  children(): ChildInfo[];
}

export interface Reply {
  body: string;
  contentType?: string;
}

export const HANDLED = Symbol('handled');

/** A route answers with a Reply, or takes the response over itself (an offloaded route). */
export type Route = (query: URLSearchParams, req: http.IncomingMessage, res: http.ServerResponse) => Reply | typeof HANDLED;

/** What the routes need of the server around them. */
export interface RouteContext {
  pools: { perRequest: DemoPool; warm: DemoPool };
  orders: OrdersSource | undefined;
  /** The work /slow runs on the event loop. */
  inlineWork: (n: number) => number;
  /** Set with --max-loop-delay: slow routes are refused while the loop is late. */
  pressure: LoopPressure | undefined;
  /** /stats and /metrics. */
  snapshot: () => StatsSnapshot;
  /** Why an offloaded request failed, in full, for its log line. */
  noteFailure: (error: unknown, req: http.IncomingMessage) => void;
  /** Slow requests that may wait for a child (--max-queue); undefined for offload()'s default. */
  maxQueue?: number | undefined;
}

/** What every offloaded route is given: where failures go, and its queue bound. */
type Offloading = Pick<OffloadOptions, 'onFailure' | 'maxQueue'>;

const JSON_TYPE = 'application/json; charset=utf-8';

const slowBody = (id: string, seconds: number): string => `slow result ${id} <--- ${seconds.toFixed(3)} s\n`;

/**
 * The request target as origin-form (`/path?query`). RFC 9112 has servers
 * accept the absolute form too (`http://host/path?query`, what a proxy is
 * sent); anything else is not a path this server has.
 */
export function originForm(target: string): string {
  if (target.startsWith('/')) return target;
  const scheme = /^https?:\/\/[^/?#]*/i.exec(target);
  if (scheme === null) throw new HttpError(400, 'bad request target: use a path such as /fast?id=1');
  const rest = target.slice(scheme[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

function queryOf(req: http.IncomingMessage): URLSearchParams {
  const target = originForm(req.url ?? '/');
  const at = target.indexOf('?');
  return new URLSearchParams(at === -1 ? '' : target.slice(at + 1));
}

const handed = (handler: RequestHandler): Route => (_query, req, res) => {
  handler(req, res);
  return HANDLED;
};

const noOrders = (): never => {
  throw new HttpError(503, 'no orders database: start the server with --db PATH (slowlane start opens one by default)');
};

/** /fast: answered at once. */
const fast: Route = (query) => ({ body: `fast result ${requireId(query)}` });

/** /slow: blocks the event loop on purpose, the problem slowlane exists to solve. */
const slowInline = (work: (n: number) => number): Route => (query) => {
  const id = requireId(query);
  return { body: slowBody(id, work(optionalN(query, MAX_INLINE_N))) };
};

/** /slow_threaded and /slow_pool: checked input, the work in a child, the answer on the loop. */
const slowOffloaded = (pool: DemoPool, offloading: Offloading): Route => handed(offload(pool, 'heavyLifting', (req) => {
  const query = queryOf(req);
  requireId(query);
  return [optionalN(query)];
}, { render: (seconds, req) => slowBody(requireId(queryOf(req)), seconds), ...offloading }));

/** /report: the blocking database call, as most apps write it, on the event loop. */
const reportInline = (orders: OrdersSource | undefined): Route => (query) => {
  const [region, days] = reportArgs(query);
  const report = orders === undefined ? noOrders() : orders.reportInline(region, days);
  return { body: JSON.stringify(report), contentType: JSON_TYPE };
};

/** /report_pool: the same query in a child that holds its own read-only connection. */
const reportPooled = (orders: OrdersSource | undefined, offloading: Offloading): Route => {
  if (orders !== undefined) return handed(offload(orders.runner, 'report', (req) => reportArgs(queryOf(req)), offloading));
  return (query) => {
    reportArgs(query);
    return noOrders();
  };
};

/** /export: the region's orders as CSV, streamed from a child as they are read, at the pace the client reads. */
const exportPooled = (orders: OrdersSource | undefined, offloading: Offloading): Route => {
  if (orders !== undefined) return handed(offload(orders.runner, 'exportOrders', (req) => reportArgs(queryOf(req)), { stream: true, contentType: 'text/csv; charset=utf-8', ...offloading }));
  return (query) => {
    reportArgs(query);
    return noOrders();
  };
};

/** Slow routes are refused while the loop is late (--max-loop-delay); /fast and /stats never are. */
const shedding = (pressure: LoopPressure | undefined, route: Route): Route => (query, req, res) => {
  if (pressure?.shouldShed()) throw pressure.overloaded();
  return route(query, req, res);
};

export function demoRoutes(ctx: RouteContext): Map<string, Route> {
  const { pools, orders, pressure, noteFailure, snapshot, maxQueue } = ctx;
  const offloading: Offloading = { onFailure: noteFailure, ...(maxQueue === undefined ? {} : { maxQueue }) };
  const slow = (route: Route): Route => shedding(pressure, route);
  return new Map<string, Route>([
    ['/fast', fast],
    ['/slow', slow(slowInline(ctx.inlineWork))],
    ['/slow_threaded', slow(slowOffloaded(pools.perRequest, offloading))],
    ['/slow_pool', slow(slowOffloaded(pools.warm, offloading))],
    ['/report', slow(reportInline(orders))],
    ['/report_pool', slow(reportPooled(orders, offloading))],
    ['/export', slow(exportPooled(orders, offloading))],
    ['/stats', () => ({ body: `${JSON.stringify(snapshot(), null, 2)}\n`, contentType: JSON_TYPE })],
    ['/metrics', () => ({ body: toPrometheus(snapshot()), contentType: METRICS_CONTENT_TYPE })],
  ]);
}
