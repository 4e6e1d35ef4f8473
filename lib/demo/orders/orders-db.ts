// The demo's orders database as the server sees it: built once in a child
// (the server answers /fast meanwhile), then one connection of the server's
// own for /report and a pool of children, one read-only connection each,
// for /report_pool. Until it is ready, or without better-sqlite3, both routes
// answer 503 saying why.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ORDERS_DB_DEFAULTS } from '../../defaults.js';
import { HttpError } from '../../http/http-error.js';
import { TaskLoadError } from '../../pool/errors.js';
import { ChildPool, type PoolLatency, type PoolStats, type ChildInfo } from '../../pool/child-pool.js';
import type { ChildPoolOptions } from '../../pool/pool-options.js';
import type { RunOptions } from '../../pool/run-options.js';
import type { StreamRunner } from '../../pool/task-types.js';
import { runReport, type Region, type Report } from './orders-schema.js';
import { DB_PATH_ENV } from './report-tasks.js';
import { loadSqlite, type Connection } from './sqlite.js';

export type ReportTasks = typeof import('./report-tasks.js');

/** $XDG_DATA_HOME/slowlane (or ~/.local/share/slowlane): a folder the demo owns, outside any checkout. */
export function defaultOrdersPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env['XDG_DATA_HOME'] !== undefined && env['XDG_DATA_HOME'] !== '' ? env['XDG_DATA_HOME'] : join(homedir(), '.local', 'share');
  return join(base, 'slowlane', ORDERS_DB_DEFAULTS.fileName);
}

export interface OrdersConfig {
  path: string;
  /** Rows to generate if the file does not exist. */
  rows?: number | undefined;
  /** Options of the report pool (its size, timeouts, limits); tasks and env are set here. */
  pool: Omit<ChildPoolOptions, 'tasks' | 'env'>;
  /** Another report tasks module (tests inject failures with it). */
  tasks?: URL | undefined;
  /** Where a failure is told in full (the server's log); clients get one line without paths or pids. */
  log?: ((line: string) => void) | undefined;
  /** After a failed build, the next request this long after it tries again. */
  retryAfterMs?: number | undefined;
}

/** A failed build (a full disk, a killed builder) is tried again by the first request after this. */
const RETRY_AFTER_MS = 5000;

const BUILD_TASKS = new URL('./build-tasks.js', import.meta.url);
const REPORT_TASKS = new URL('./report-tasks.js', import.meta.url);

export class OrdersDatabase {
  readonly path: string;
  #state: 'building' | 'ready' | 'unavailable' | 'closed' = 'building';
  #why = '';
  /** A build that failed may be tried again (a missing better-sqlite3 may not). */
  #retryAt = Infinity;
  #buildStartedAt = performance.now();
  #settled: Promise<void>;
  readonly #config: OrdersConfig;
  #connection: Connection | undefined;
  #pool: ChildPool<ReportTasks> | undefined;
  #builder: ChildPool | undefined;

  /** Runs 'report' on the pool once there is one; until then rejects with the 503 the routes answer. */
  readonly runner: StreamRunner<ReportTasks> = {
    run: ((task: 'report', args: [Region, number], options?: RunOptions) => {
      if (this.#state === 'unavailable') this.#retryIfDue();
      const pool = this.#pool;
      if (pool === undefined) return Promise.reject(this.#notReady());
      return pool.run(task, args, options).catch((error: unknown) => {
        // Its children start with the first report: a report module that cannot load shows only now.
        if (!(error instanceof TaskLoadError) || this.#pool !== pool) throw error;
        this.#pool = undefined;
        void pool.destroy();
        this.#failed(error);
        throw this.#notReady();
      });
    }) as StreamRunner<ReportTasks>['run'],
    /** /export's stream; until the database is ready, a stream that fails at once with the same 503. */
    stream: ((task: 'exportOrders', args: [Region, number], options?: RunOptions) => {
      if (this.#state === 'unavailable') this.#retryIfDue();
      const pool = this.#pool;
      if (pool === undefined) {
        const refused = this.#notReady();
        return (async function* refuse(): AsyncGenerator<never> {
          throw refused;
        })();
      }
      return pool.stream(task, args, options);
    }) as StreamRunner<ReportTasks>['stream'],
  };

  constructor(config: OrdersConfig) {
    this.path = config.path;
    this.#config = config;
    this.#settled = this.#attempt();
  }

  /** Settles when the database is ready or known to be unavailable (the latest attempt); never rejects. */
  get settled(): Promise<void> {
    return this.#settled;
  }

  #attempt(): Promise<void> {
    this.#state = 'building';
    this.#buildStartedAt = performance.now();
    return this.#open(this.#config).catch((error: unknown) => this.#failed(error));
  }

  #failed(error: unknown): void {
    // Closed while it was being built or while its children started: that is not a failure.
    if (this.#state === 'closed') return;
    this.#state = 'unavailable';
    this.#connection?.close();
    this.#connection = undefined;
    const retryAfterMs = this.#config.retryAfterMs ?? RETRY_AFTER_MS;
    this.#retryAt = performance.now() + retryAfterMs;
    // The detail (a path, a pid, an errno) is for the server's log; a client gets a line without them.
    this.#config.log?.(`slowlane: the orders database could not be built: ${error instanceof Error ? error.message : String(error)}; the first report request after ${retryAfterMs / 1000} s tries again`);
    this.#why = `the orders database could not be built (the server's log says why); it is tried again ${Math.ceil(retryAfterMs / 1000)} s after the failure`;
  }

  /** After a failed build: the first request past the wait starts another attempt (and is answered 503 "being built"). */
  #retryIfDue(): void {
    if (performance.now() < this.#retryAt) return;
    this.#retryAt = Infinity;
    this.#settled = this.#attempt();
  }

  get state(): 'building' | 'ready' | 'unavailable' | 'closed' {
    return this.#state;
  }

  /** The report on this event loop, with the server's own connection: blocks every other request while it runs. */
  reportInline(region: Region, days: number): Report {
    if (this.#state === 'unavailable') this.#retryIfDue();
    if (this.#connection === undefined) throw this.#notReady();
    return runReport(this.#connection, region, days);
  }

  stats(): { state: string; path: string; pool?: PoolStats } {
    return { state: this.#state, path: this.path, ...(this.#pool === undefined ? {} : { pool: this.#pool.stats() }) };
  }

  latency(): PoolLatency | undefined {
    return this.#pool?.latency();
  }

  children(): ChildInfo[] {
    return this.#pool?.children() ?? [];
  }

  /** Closes the server's connection and, gracefully, the pool's (each child's teardown()). */
  async close(): Promise<void> {
    this.#end();
    await Promise.all([this.#pool?.close(), this.#builder?.destroy()]);
  }

  async destroy(): Promise<void> {
    this.#end();
    await Promise.all([this.#pool?.destroy(), this.#builder?.destroy()]);
  }

  #end(): void {
    this.#state = 'closed';
    this.#connection?.close();
    this.#connection = undefined;
  }

  async #open(config: OrdersConfig): Promise<void> {
    const Sqlite = loadSqlite();
    if (Sqlite instanceof Error) {
      this.#state = 'unavailable';
      this.#why = Sqlite.message;
      return;
    }
    if (!existsSync(this.path)) {
      // A child writes it, so this loop keeps answering.
      this.#builder = new ChildPool({ tasks: BUILD_TASKS, maxChildren: 1, spares: 0, niceness: config.pool.niceness });
      try {
        await this.#builder.run('buildOrders', [this.path, config.rows ?? ORDERS_DB_DEFAULTS.rows, ORDERS_DB_DEFAULTS.seed]);
      } finally {
        await this.#builder.close();
        this.#builder = undefined;
      }
    }
    if (this.#state === 'closed') return;
    this.#connection = new Sqlite(this.path, { readonly: true, fileMustExist: true });
    this.#pool = new ChildPool<ReportTasks>({ ...config.pool, tasks: config.tasks ?? REPORT_TASKS, env: { [DB_PATH_ENV]: this.path } });
    try {
      // Ready when its children have opened their connections.
      await this.#pool.ready();
    } catch (error) {
      // Closing: close() ends the pool gracefully. Otherwise its module cannot load: no child is worth keeping.
      if (this.state === 'closed') return;
      const pool = this.#pool;
      this.#pool = undefined;
      await pool.destroy();
      throw error;
    }
    if (this.#state === 'building') this.#state = 'ready';
  }

  #notReady(): HttpError {
    if (this.#state === 'building') {
      const seconds = Math.round((performance.now() - this.#buildStartedAt) / 1000);
      return new HttpError(503, `the orders database is being built (${seconds} s so far, about 5 s in all); retry in a few seconds`, { 'retry-after': '2' });
    }
    if (this.#state === 'closed') return new HttpError(503, 'server is shutting down; retry on another instance', { 'retry-after': '1' });
    return new HttpError(503, this.#why, this.#retryAt === Infinity ? {} : { 'retry-after': String(Math.max(1, Math.ceil((this.#retryAt - performance.now()) / 1000))) });
  }
}
