// The demo server, on node:http alone: the routes (routes.ts) on top of the
// library, and around them what every request gets: parsing, one log line,
// errors as one line, connection tracking and a shutdown that answers what
// was received. The server knows its pools only through their public interface.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { failureResponse } from '../http/failure-response.js';
import { HttpError } from '../http/http-error.js';
import { accessLogLine, clientAddress, CLIENT_CLOSED, forwardedClient } from './access-log.js';
import { heavyLifting } from './heavy-lifting.js';
import { LoopPressure } from '../http/loop-pressure.js';
import type { DemoPool } from './demo-pool.js';
import { demoRoutes, HANDLED, originForm, type OrdersSource } from './routes.js';
import { ServerStats } from './server-stats.js';

export type { DemoPool, DemoTasks } from './demo-pool.js';
export { originForm, type OrdersSource } from './routes.js';

export interface ServerOptions {
  /** `perRequest` serves /slow_threaded (a fresh process per request), `warm` serves /slow_pool. */
  pools: { perRequest: DemoPool; warm: DemoPool };
  /** Receives one access-log line per request; omit to log nothing. */
  accessLog?: ((line: string) => void) | undefined;
  /** The log's own counters, for /stats. */
  logStats?: (() => { written: number; dropped: number; pending: number; pendingBytes: number }) | undefined;
  /** Peer addresses (your reverse proxy) whose X-Forwarded-For header names the client. */
  trustProxy?: readonly string[] | undefined;
  /** The work /slow runs on the event loop; a parameter so tests can swap it. */
  inlineWork?: ((n: number) => number) | undefined;
  /** Refuse new slow requests (503) while the event loop has been this many ms late within the last second; omit for never. */
  maxLoopDelayMs?: number | undefined;
  /** Slow requests that may wait for a child, per route (each pool); beyond it 503. Default: offload()'s, 100. */
  maxQueue?: number | undefined;
  /** The orders database behind /report and /report_pool; without it they answer 503. */
  orders?: OrdersSource | undefined;
}

export interface SlowlaneServer {
  readonly http: http.Server;
  listen(port: number, host: string): Promise<AddressInfo>;
  /**
   * Stops accepting, ends connections that carry no request (idle, silent,
   * or with half a request), answers every request already received, then resolves.
   */
  close(): Promise<void>;
  /** Drops every connection now. */
  destroy(): void;
  /** Requests received and not yet answered: the ones a forced stop would lose. */
  waiting(): number;
}

const TEXT = 'text/plain; charset=utf-8';
const NO_HEADERS: Record<string, string> = Object.freeze({});

export function createServer(options: ServerOptions): SlowlaneServer {
  const { pools, accessLog, logStats, orders } = options;
  const inlineWork = options.inlineWork ?? heavyLifting;
  const stats = new ServerStats();
  const pressure = options.maxLoopDelayMs === undefined ? undefined : new LoopPressure(options.maxLoopDelayMs);
  const trusted = new Set(options.trustProxy ?? []);
  let closing = false;
  /**
   * Every open connection, with the answers it still waits for (each with how
   * to log it as 499): what close() needs to end each at the right time.
   */
  const connections = new Map<Socket, Map<http.ServerResponse, () => void>>();
  /** Why an offloaded request failed, in full, for its log line (the client gets one short line). */
  const failures = new WeakMap<http.IncomingMessage, string>();
  const noteFailure = (error: unknown, req: http.IncomingMessage): void => {
    failures.set(req, error instanceof Error ? `${error.name}: ${error.message}` : String(error));
  };

  const snapshot = () => {
    const reports = orders?.stats();
    const reportLatency = orders?.latency();
    return stats.snapshot({
      pools: { perRequest: pools.perRequest.stats(), warm: pools.warm.stats(), ...(reports?.pool === undefined ? {} : { reports: reports.pool }) },
      log: logStats?.(),
      latency: { perRequest: pools.perRequest.latency(), warm: pools.warm.latency(), ...(reportLatency === undefined ? {} : { reports: reportLatency }) },
      children: { perRequest: pools.perRequest.children(), warm: pools.warm.children(), ...(orders === undefined ? {} : { reports: orders.children() }) },
      loadShedding: pressure?.stats(),
      orders: reports === undefined ? undefined : { state: reports.state, path: reports.path },
      queue: pools.warm.queueDepth?.(),
    });
  };
  const routes = demoRoutes({ pools, orders, inlineWork, pressure, snapshot, noteFailure, maxQueue: options.maxQueue });

  /** Writes the answer; false if the client is already gone. */
  function send(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = NO_HEADERS, contentType = TEXT): boolean {
    if (res.headersSent || res.destroyed) return false;
    const payload = body.endsWith('\n') ? body : `${body}\n`;
    const head: Record<string, string | number> = headers === NO_HEADERS ? {} : { ...headers };
    head['content-type'] = contentType;
    head['content-length'] = Buffer.byteLength(payload);
    res.writeHead(status, head);
    res.end(payload); // node:http leaves the body out for HEAD
    return true;
  }

  function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    // Read now: once a client has left, its socket no longer knows the address.
    const peer = clientAddress(req.socket.remoteAddress);
    const finish = (status: number, detail?: string): void => {
      stats.count(status);
      if (accessLog === undefined) return;
      const client = trusted.has(peer) ? (forwardedClient(req.headers['x-forwarded-for']) ?? peer) : peer;
      accessLog(accessLogLine(status, method, url, client, performance.now() - started, detail));
    };
    // While draining, answers tell keep-alive clients to reconnect elsewhere.
    if (closing) res.setHeader('connection', 'close');
    try {
      const target = originForm(url);
      const queryAt = target.indexOf('?');
      const path = queryAt === -1 ? target : target.slice(0, queryAt);
      const route = routes.get(path);
      if (route === undefined) throw new HttpError(404, `not found: ${path.slice(0, 100)}; the routes are ${[...routes.keys()].join(', ')}`);
      if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, `method ${method} not allowed; use GET or HEAD`, { allow: 'GET, HEAD' });
      const reply = route(new URLSearchParams(queryAt === -1 ? '' : target.slice(queryAt + 1)), req, res);
      if (reply === HANDLED) {
        // A route that waits: logged when its response closes, 499 if the client left first.
        const socket = req.socket;
        const waitingHere = connections.get(socket);
        // A pipelined answer still queued behind another sees no 'close' of its own when the client leaves; the connection logs it.
        waitingHere?.set(res, () => finish(CLIENT_CLOSED, failures.get(req)));
        res.once('close', () => {
          waitingHere?.delete(res);
          if (closing && waitingHere?.size === 0) socket.destroySoon();
          finish(res.writableFinished ? res.statusCode : CLIENT_CLOSED, failures.get(req));
        });
        return;
      }
      // Logged when the answer is handed to node:http, as Tornado logs at finish().
      // No listener on the response for that: one cost about 5 us of CPU per
      // request here, a fifth of what a bare node:http /fast answer costs.
      finish(send(res, 200, reply.body, NO_HEADERS, reply.contentType) ? 200 : CLIENT_CLOSED);
    } catch (error) {
      const failure = failureResponse(error);
      finish(send(res, failure.status, failure.body, failure.headers) ? failure.status : CLIENT_CLOSED);
    }
  }

  const server = http.createServer(handle);
  server.on('connection', (socket: Socket) => {
    const answers = new Map<http.ServerResponse, () => void>();
    connections.set(socket, answers);
    socket.once('close', () => {
      connections.delete(socket);
      // Answers whose response never closed (queued behind another): the client left before them.
      setImmediate(() => {
        for (const [res, logGone] of answers) if (!res.writableFinished) logGone();
        answers.clear();
      });
    });
  });

  return {
    http: server,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    close() {
      closing = true;
      // Nothing to answer on it (idle, silent, or half a request): end it now.
      // One still waiting ends after its last answer (see handle), so pipelined
      // requests already received behind it are answered too.
      for (const [socket, answers] of connections) if (answers.size === 0) socket.destroySoon();
      return new Promise((resolve) => {
        if (!server.listening) {
          stats.stop();
          pressure?.stop();
          resolve();
          return;
        }
        server.close(() => {
          stats.stop();
          pressure?.stop();
          resolve();
        });
      });
    },
    destroy() {
      closing = true;
      server.closeAllConnections();
      for (const socket of connections.keys()) socket.destroy();
      if (server.listening) server.close();
      stats.stop();
      pressure?.stop();
    },
    waiting() {
      let count = 0;
      for (const answers of connections.values()) count += answers.size;
      return count;
    },
  };
}
