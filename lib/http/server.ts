// slowlane's HTTP server, on node:http alone. It knows the routes and what an
// executor promises, nothing of how children are managed.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { heavyLifting } from '../heavy-lifting.js';
import type { Executor } from '../offload/executor.js';
import { accessLogLine, clientAddress, CLIENT_CLOSED, forwardedClient } from './access-log.js';
import { HttpError } from './http-error.js';
import { failureResponse } from './failure-response.js';
import { ServerStats } from './server-stats.js';
import { optionalN, requireId } from './slow-args.js';

export interface ServerOptions {
  /** `fork` serves /slow_threaded, `pool` serves /slow_pool. */
  executors: { fork: Executor; pool: Executor };
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

interface RouteContext {
  /** Aborted when the client goes away before the answer. */
  readonly signal: AbortSignal;
}

type Route = (query: URLSearchParams, context: RouteContext) => Reply | Promise<Reply>;

const TEXT = 'text/plain; charset=utf-8';
const NO_HEADERS: Record<string, string> = Object.freeze({});
export const OFFLOADED_TASK = 'heavyLifting';

const slowBody = (id: string, seconds: number): string => `slow result ${id} <--- ${seconds.toFixed(3)} s`;

export function createServer(options: ServerOptions): SlowlaneServer {
  const { executors, accessLog } = options;
  const inlineWork = options.inlineWork ?? heavyLifting;
  const stats = new ServerStats();
  const trusted = new Set(options.trustProxy ?? []);
  let closing = false;

  const offloaded = (executor: Executor): Route => async (query, { signal }) => {
    const id = requireId(query);
    const seconds = await executor.run<number>(OFFLOADED_TASK, [optionalN(query)], { signal });
    return { body: slowBody(id, seconds) };
  };

  const routes = new Map<string, Route>([
    ['/fast', (query) => ({ body: `fast result ${requireId(query)}` })],
    // Blocks the event loop on purpose: the problem slowlane exists to solve.
    ['/slow', (query) => {
      const id = requireId(query);
      return { body: slowBody(id, inlineWork(optionalN(query))) };
    }],
    ['/slow_threaded', offloaded(executors.fork)],
    ['/slow_pool', offloaded(executors.pool)],
    ['/stats', () => ({
      body: `${JSON.stringify(stats.snapshot({ fork: executors.fork.stats(), pool: executors.pool.stats() }), null, 2)}\n`,
      contentType: 'application/json; charset=utf-8',
    })],
  ]);

  /** Writes the answer; false if the client is already gone. */
  function send(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = NO_HEADERS, contentType = TEXT): boolean {
    if (res.headersSent || res.destroyed) return false;
    const payload = body.endsWith('\n') ? body : `${body}\n`;
    const head: Record<string, string | number> = { ...headers, 'content-type': contentType, 'content-length': Buffer.byteLength(payload) };
    if (closing) head['connection'] = 'close';
    res.writeHead(status, head);
    res.end(payload); // node:http leaves the body out for HEAD
    return true;
  }

  function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const started = process.hrtime.bigint();
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    let logged = false;
    const finish = (status: number): void => {
      if (logged) return;
      logged = true;
      stats.count(status);
      if (accessLog === undefined) return;
      const peer = clientAddress(req.socket.remoteAddress);
      const client = trusted.has(peer) ? (forwardedClient(req.headers['x-forwarded-for']) ?? peer) : peer;
      accessLog(accessLogLine(status, method, url, client, Number(process.hrtime.bigint() - started) / 1e6));
    };
    // Logged when the answer is handed to node:http, as Tornado logs at finish().
    // No listener on the response for that: one cost about 5 us of CPU per
    // request here, a fifth of what a bare node:http /fast answer costs.
    const respond = (status: number, body: string, headers?: Record<string, string>, contentType?: string): void => {
      finish(send(res, status, body, headers, contentType) ? status : CLIENT_CLOSED);
    };
    // Only routes that wait ask for a signal, and only they watch for the client leaving.
    let aborter: AbortController | undefined;
    const context: RouteContext = {
      get signal() {
        if (aborter === undefined) {
          const controller = new AbortController();
          aborter = controller;
          res.once('close', () => {
            if (res.writableFinished) return;
            // Closed before the answer was written: the client left, so its work is cancelled.
            controller.abort();
            finish(CLIENT_CLOSED);
          });
        }
        return aborter.signal;
      },
    };
    const fail = (error: unknown): void => {
      if (aborter?.signal.aborted) return; // nobody is listening for the answer
      const failure = failureResponse(error);
      respond(failure.status, failure.message, failure.headers);
    };
    try {
      const queryAt = url.indexOf('?');
      const path = queryAt === -1 ? url : url.slice(0, queryAt);
      const route = routes.get(path);
      if (route === undefined) throw new HttpError(404, `not found: ${path.slice(0, 100)}; the routes are ${[...routes.keys()].join(', ')}`);
      if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, `method ${method} not allowed; use GET or HEAD`, { allow: 'GET, HEAD' });
      const reply = route(new URLSearchParams(queryAt === -1 ? '' : url.slice(queryAt + 1)), context);
      if (reply instanceof Promise) reply.then((done) => respond(200, done.body, {}, done.contentType), fail);
      else respond(200, reply.body, {}, reply.contentType);
    } catch (error) {
      fail(error);
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
