// The demo server, on node:http alone: the prototype's routes on top of the
// library. /slow_threaded and /slow_pool are offload() handlers; the server
// knows its pools only through their public interface.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { failureResponse } from '../http/failure-response.js';
import { HttpError } from '../http/http-error.js';
import { offload, type RequestHandler } from '../http/offload.js';
import type { PoolStats } from '../pool/child-pool.js';
import type { TaskRunner } from '../pool/task-types.js';
import { accessLogLine, clientAddress, CLIENT_CLOSED, forwardedClient } from './access-log.js';
import { heavyLifting } from './heavy-lifting.js';
import { ServerStats } from './server-stats.js';
import { optionalN, requireId } from './slow-args.js';

export type DemoTasks = typeof import('./tasks.js');

/** What the demo needs of a pool: to run its tasks and to report its counters. */
export interface DemoPool extends TaskRunner<DemoTasks> {
  stats(): PoolStats;
}

export interface ServerOptions {
  /** `perRequest` serves /slow_threaded (a fresh process per request), `warm` serves /slow_pool. */
  pools: { perRequest: DemoPool; warm: DemoPool };
  /** Receives one access-log line per request; omit to log nothing. */
  accessLog?: ((line: string) => void) | undefined;
  /** Peer addresses (your reverse proxy) whose X-Forwarded-For header names the client. */
  trustProxy?: readonly string[] | undefined;
  /** The work /slow runs on the event loop; a parameter so tests can swap it. */
  inlineWork?: ((n: number) => number) | undefined;
}

export interface SlowlaneServer {
  readonly http: http.Server;
  listen(port: number, host: string): Promise<AddressInfo>;
  /** Stops accepting, answers every request already received, then resolves. */
  close(): Promise<void>;
  /** Drops every connection now. */
  destroy(): void;
}

interface Reply {
  body: string;
  contentType?: string;
}

/** A route answers with a Reply, or takes the response over itself (an offloaded route). */
type Route = (query: URLSearchParams, req: http.IncomingMessage, res: http.ServerResponse) => Reply | typeof HANDLED;

const HANDLED = Symbol('handled');
const TEXT = 'text/plain; charset=utf-8';
const NO_HEADERS: Record<string, string> = Object.freeze({});

const slowBody = (id: string, seconds: number): string => `slow result ${id} <--- ${seconds.toFixed(3)} s\n`;

function queryOf(url: string | undefined): URLSearchParams {
  const at = url?.indexOf('?') ?? -1;
  return new URLSearchParams(at === -1 ? '' : url!.slice(at + 1));
}

/** The prototype's slow route, offloaded: checked input, the work in a child, the answer on the loop. */
function slowRoute(pool: DemoPool): RequestHandler {
  return offload(pool, 'heavyLifting', (req) => {
    const query = queryOf(req.url);
    requireId(query);
    return [optionalN(query)];
  }, { render: (seconds, req) => slowBody(requireId(queryOf(req.url)), seconds) });
}

export function createServer(options: ServerOptions): SlowlaneServer {
  const { pools, accessLog } = options;
  const inlineWork = options.inlineWork ?? heavyLifting;
  const stats = new ServerStats();
  const trusted = new Set(options.trustProxy ?? []);
  let closing = false;

  const handed = (handler: RequestHandler): Route => (_query, req, res) => {
    handler(req, res);
    return HANDLED;
  };

  const routes = new Map<string, Route>([
    ['/fast', (query) => ({ body: `fast result ${requireId(query)}` })],
    // Blocks the event loop on purpose: the problem slowlane exists to solve.
    ['/slow', (query) => {
      const id = requireId(query);
      return { body: slowBody(id, inlineWork(optionalN(query))) };
    }],
    ['/slow_threaded', handed(slowRoute(pools.perRequest))],
    ['/slow_pool', handed(slowRoute(pools.warm))],
    ['/stats', () => ({
      body: `${JSON.stringify(stats.snapshot({ perRequest: pools.perRequest.stats(), warm: pools.warm.stats() }), null, 2)}\n`,
      contentType: 'application/json; charset=utf-8',
    })],
  ]);

  /** Writes the answer; false if the client is already gone. */
  function send(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = NO_HEADERS, contentType = TEXT): boolean {
    if (res.headersSent || res.destroyed) return false;
    const payload = body.endsWith('\n') ? body : `${body}\n`;
    res.writeHead(status, { ...headers, 'content-type': contentType, 'content-length': Buffer.byteLength(payload) });
    res.end(payload); // node:http leaves the body out for HEAD
    return true;
  }

  function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const started = process.hrtime.bigint();
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const finish = (status: number): void => {
      stats.count(status);
      if (accessLog === undefined) return;
      const peer = clientAddress(req.socket.remoteAddress);
      const client = trusted.has(peer) ? (forwardedClient(req.headers['x-forwarded-for']) ?? peer) : peer;
      accessLog(accessLogLine(status, method, url, client, Number(process.hrtime.bigint() - started) / 1e6));
    };
    // While draining, answers tell keep-alive clients to reconnect elsewhere.
    if (closing) res.setHeader('connection', 'close');
    try {
      const queryAt = url.indexOf('?');
      const path = queryAt === -1 ? url : url.slice(0, queryAt);
      const route = routes.get(path);
      if (route === undefined) throw new HttpError(404, `not found: ${path.slice(0, 100)}; the routes are ${[...routes.keys()].join(', ')}`);
      if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, `method ${method} not allowed; use GET or HEAD`, { allow: 'GET, HEAD' });
      const reply = route(new URLSearchParams(queryAt === -1 ? '' : url.slice(queryAt + 1)), req, res);
      if (reply === HANDLED) {
        // A route that waits: logged when its response closes, 499 if the client left first.
        res.once('close', () => finish(res.writableFinished ? res.statusCode : CLIENT_CLOSED));
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
      return new Promise((resolve) => {
        if (!server.listening) {
          stats.stop();
          resolve();
          return;
        }
        server.close(() => {
          stats.stop();
          resolve();
        });
        server.closeIdleConnections();
      });
    },
    destroy() {
      closing = true;
      server.closeAllConnections();
      if (server.listening) server.close();
      stats.stop();
    },
  };
}
