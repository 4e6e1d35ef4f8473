// Puts the demo together the way `slowlane start` runs it: two pools on the
// demo's tasks module, the HTTP server in front, and a shutdown that finishes
// what was received before it ends every child.
import type { AddressInfo } from 'node:net';
import { SERVER_DEFAULTS } from '../defaults.js';
import { ChildPool } from '../pool/child-pool.js';
import type { DemoPool } from './demo-pool.js';
import { LogWriter, type LogStream } from './log-writer.js';
import { OrdersDatabase } from './orders/orders-db.js';
import { createServer, type DemoTasks, type SlowlaneServer } from './server.js';

export interface SlowlaneConfig {
  port: number;
  host: string;
  poolSize?: number | undefined;
  maxChildren?: number | undefined;
  maxQueue?: number | undefined;
  spares?: number | undefined;
  timeoutMs?: number | undefined;
  niceness?: number | undefined;
  /** Each child's hard memory cap (both pools). */
  maxMemoryMb?: number | undefined;
  /** A child past this RSS after a task is replaced (both pools). */
  recycleMemoryMb?: number | undefined;
  /** A task's result larger than this is refused (every pool). */
  maxResultMb?: number | undefined;
  /** /slow_pool's children are replaced after this many tasks (jittered up to 10 %). */
  tasksPerChild?: number | undefined;
  /** Children older than this are replaced (both pools). */
  maxChildAgeMs?: number | undefined;
  /** Children idle this long leave, above what the pool keeps (both pools). */
  idleTimeoutMs?: number | undefined;
  /** Child starts a second, per pool. */
  maxStartsPerSecond?: number | undefined;
  /** Refuse new slow requests while the event loop has been this late within the last second. */
  maxLoopDelayMs?: number | undefined;
  /** Where the access log goes, through a bounded buffer (LogWriter); omit to log nothing. */
  logTo?: LogStream | undefined;
  /** Proxies whose X-Forwarded-For names the client in the access log. */
  trustProxy?: readonly string[] | undefined;
  /** Another tasks module exporting `heavyLifting`; tests use it to inject failures. */
  tasks?: string | URL | undefined;
  /** The orders database file for /report and /report_pool, built on first start; omit for none (they answer 503). */
  db?: string | undefined;
  /** Orders to generate when the file does not exist (default ORDERS_DB_DEFAULTS.rows). */
  dbRows?: number | undefined;
  /** Another report tasks module; tests use it to inject failures. */
  dbTasks?: URL | undefined;
  /** Start the report pool's children with the server (true) or with the first report (false, the default). */
  warmReports?: boolean | undefined;
  /** Run /slow_threaded and /slow_pool on slowlane/queue at this Redis (redis://host:port) instead of local children. */
  queueRedis?: string | undefined;
  /** The queue's name (default SERVER_DEFAULTS.queue). */
  queue?: string | undefined;
  /** The start of the queue's Redis keys (default QUEUE_DEFAULTS.prefix; a Cluster needs a hash tag). */
  queuePrefix?: string | undefined;
  /** The server's own messages (a database that cannot be built); omit for none. */
  log?: ((line: string) => void) | undefined;
}

/** What serves a slow route: a ChildPool, or the queue (QueueLane). */
export type ServedLane = DemoPool & { ready(): Promise<void>; close(): Promise<void>; destroy(): Promise<void> };

export interface RunningSlowlane {
  readonly address: AddressInfo;
  readonly server: SlowlaneServer;
  /** Local ChildPools, or with queueRedis one QueueLane serving both routes. */
  readonly pools: { perRequest: ServedLane; warm: ServedLane };
  /** The orders database, when a --db file was given. */
  readonly orders: OrdersDatabase | undefined;
  /**
   * Finishes every request already received, then ends every child. If graceMs
   * runs out first, everything is cut off; `lost` counts the requests that
   * then went unanswered (0 when only connections or children were slow to go).
   */
  shutdown(graceMs: number): Promise<{ clean: boolean; lost: number }>;
  /** Ends every connection and child now. */
  destroy(): Promise<void>;
}

export const DEMO_TASKS = new URL('./tasks.js', import.meta.url);

export async function startSlowlane(config: SlowlaneConfig): Promise<RunningSlowlane> {
  const d = SERVER_DEFAULTS;
  const timeoutMs = config.timeoutMs ?? d.timeoutMs;
  // --max-queue bounds the routes (offload()), not the pools: it is requests that should not wait too long.
  const limits = {
    timeoutMs,
    // A request's whole time counts, waiting for a child included: one that
    // cannot start in time gets 503 instead of waiting behind the queue.
    deadlineMs: timeoutMs,
    niceness: config.niceness,
    maxMemoryMb: config.maxMemoryMb,
    recycleMemoryMb: config.recycleMemoryMb,
    maxResultBytes: (config.maxResultMb ?? d.maxResultMb) * 1024 * 1024,
    maxChildAgeMs: config.maxChildAgeMs,
    idleTimeoutMs: config.idleTimeoutMs,
    maxStartsPerSecond: config.maxStartsPerSecond,
  };
  const common = { ...limits, tasks: config.tasks ?? DEMO_TASKS };
  const poolSize = config.poolSize ?? d.poolSize;
  const pools = config.queueRedis !== undefined ? await queueLanes(config.queueRedis, config.queue ?? d.queue, config.queuePrefix, timeoutMs) : {
    // The prototype's process per request, with spares started ahead of demand.
    perRequest: new ChildPool<DemoTasks>({ ...common, tasksPerChild: 1, minChildren: 0, maxChildren: config.maxChildren ?? d.forkMaxChildren, spares: Math.min(config.spares ?? d.forkSpares, config.maxChildren ?? d.forkMaxChildren) }),
    // Warm children that serve task after task.
    warm: new ChildPool<DemoTasks>({ ...common, minChildren: poolSize, maxChildren: poolSize, spares: 0, tasksPerChild: config.tasksPerChild }),
  };
  // One read-only connection per child, as many children as /slow_pool has.
  const orders = config.db === undefined ? undefined : new OrdersDatabase({ path: config.db, rows: config.dbRows, tasks: config.dbTasks, log: config.log, pool: { ...limits, minChildren: (config.warmReports ?? d.warmReports) ? poolSize : 0, maxChildren: poolSize, spares: 0 } });
  const log = config.logTo === undefined ? undefined : new LogWriter(config.logTo);
  const server = createServer({ pools, accessLog: log?.line, logStats: log === undefined ? undefined : () => log.stats(), trustProxy: config.trustProxy, maxLoopDelayMs: config.maxLoopDelayMs, maxQueue: config.maxQueue, orders });
  const destroy = async (): Promise<void> => {
    server.destroy();
    await Promise.all([pools.perRequest.destroy(), pools.warm === pools.perRequest ? undefined : pools.warm.destroy(), orders?.destroy()]);
  };
  let address: AddressInfo;
  try {
    address = await server.listen(config.port, config.host);
  } catch (error) {
    await destroy();
    throw error;
  }

  async function shutdown(graceMs: number): Promise<{ clean: boolean; lost: number }> {
    let timer: NodeJS.Timeout | undefined;
    const ranOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    });
    const finished = (async () => {
      await server.close();
      await Promise.all([pools.perRequest.close(), pools.warm === pools.perRequest ? undefined : pools.warm.close(), orders?.close()]);
      return true as const;
    })();
    const clean = await Promise.race([finished, ranOut]);
    clearTimeout(timer);
    const lost = clean ? 0 : server.waiting();
    if (!clean) await destroy();
    return { clean, lost };
  }

  return { address, server, pools, orders, shutdown, destroy };
}

/** Both slow routes on the queue: the worker hosts' pools do the work, with their own limits. */
async function queueLanes(url: string, queue: string, prefix: string | undefined, timeoutMs: number): Promise<{ perRequest: ServedLane; warm: ServedLane }> {
  // Loaded only here: BullMQ and ioredis are optional, and a local demo never needs them.
  const [{ QueueRunner }, { parseRedisUrl }, { watchQueueDepth }, { QueueLane }] = await Promise.all([import('../queue/queue-runner.js'), import('../queue/redis-url.js'), import('../queue/queue-depth.js'), import('./queue-lane.js')]);
  const connection = parseRedisUrl(url);
  // A request's whole time counts, as with local children: a run no host takes in time gets 503.
  const runner = new QueueRunner({ connection, queue, ...(prefix === undefined ? {} : { prefix }), timeoutMs, deadlineMs: timeoutMs });
  // /metrics' autoscaling signal: the queue's depth, all hosts' jobs.
  const lane = new QueueLane(runner, { queue, watch: watchQueueDepth({ connection, queue, prefix }) });
  return { perRequest: lane, warm: lane };
}
