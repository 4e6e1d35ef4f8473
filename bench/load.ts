// The load: autocannon for steady /fast traffic, small loops of our own where a
// scenario needs exact control (slow requests kept in flight, sequential calls, bursts).
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { httpRequest, type HttpAnswer } from '../lib/client/http-get.js';

export interface Timed {
  /** ms since the load started */
  at: number;
  latency: number;
}

export interface FastLoad {
  samples: Timed[];
  requestsPerSecond: number;
  non2xx: number;
}

/** Keep-alive /fast load from `connections` connections for `seconds`. */
export function fastLoad(base: string, seconds: number, connections = 4): Promise<FastLoad> {
  return new Promise((resolve) => {
    const started = performance.now();
    const samples: Timed[] = [];
    const instance = autocannon({ url: `${base}/fast?id=1`, connections, duration: seconds });
    instance.on('response', (_client, _status, _bytes, latency) => samples.push({ at: performance.now() - started - latency, latency }));
    instance.on('done', (result) => resolve({ samples, requestsPerSecond: result.requests.total / (result.duration || seconds), non2xx: result.non2xx }));
  });
}

export const get = (url: string, agent: http.Agent | false = false): Promise<HttpAnswer> => httpRequest(url, { agent });

/** Keeps k slow requests in flight, re-issuing each as it finishes, until stopped. */
export function keepSlowInFlight(base: string, route: string, k: number, n: number): { stop: () => Promise<number> } {
  return keepInFlight((i, j) => `${base}/${route}?id=${i}-${j}&n=${n}`, k);
}

/** Keeps k requests in flight (the j-th of loop i to urlOf(i, j)), each re-issued as it finishes, until stopped; counts 200 answers. */
export function keepInFlight(urlOf: (i: number, j: number) => string, k: number): { stop: () => Promise<number> } {
  let running = true;
  let done = 0;
  const loops = Array.from({ length: k }, async (_, i) => {
    // Bounded: stop() ends it; each request is itself bounded by its timeout.
    for (let j = 0; running && j < 10_000; j += 1) {
      if ((await get(urlOf(i, j))).status === 200) done += 1;
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return done;
    },
  };
}

/** Latencies of `count` requests sent one after another on one keep-alive connection. */
export async function sequential(url: string, count: number, pauseMs = 0): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  try {
    for (let i = 0; i < count; i += 1) {
      const started = performance.now();
      const answer = await get(url, agent);
      latencies.push(performance.now() - started);
      if (answer.status !== 200) throw new Error(`${url} answered ${answer.status}: ${answer.body}`);
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  } finally {
    agent.destroy();
  }
  return latencies;
}

export interface Arrival {
  url: string;
  at: number;
  status: number;
}

/** Sends every URL at once on its own connection; arrivals in order, ms after sending. */
export async function burst(urls: readonly string[]): Promise<Arrival[]> {
  const started = performance.now();
  const arrivals: Arrival[] = [];
  await Promise.all(urls.map(async (url) => {
    const { status } = await get(url);
    arrivals.push({ url, at: performance.now() - started, status });
  }));
  return arrivals;
}

export interface PacedRun {
  offeredPerS: number;
  /** Answers with 200 per second of the window (the last answer counts the window's end). */
  achievedPerS: number;
  ok: number;
  failed: number;
  latencies: number[];
}

/** Open loop: one request every 1000 / ratePerS ms for `seconds`, each on its own connection, whatever the answers do. */
export async function paced(url: string, ratePerS: number, seconds: number): Promise<PacedRun> {
  const count = Math.max(1, Math.round(ratePerS * seconds));
  const gapMs = 1000 / ratePerS;
  const started = performance.now();
  const latencies: number[] = [];
  let ok = 0;
  let lastAt = 0;
  const pending: Promise<void>[] = [];
  for (let i = 0; i < count; i += 1) {
    const due = started + i * gapMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push((async () => {
      const sent = performance.now();
      const { status } = await get(`${url}&id=${i}`);
      const now = performance.now();
      latencies.push(now - sent);
      if (status === 200) ok += 1;
      lastAt = Math.max(lastAt, now - started);
    })());
  }
  await Promise.all(pending);
  return { offeredPerS: ratePerS, achievedPerS: ok / (Math.max(lastAt, seconds * 1000) / 1000), ok, failed: count - ok, latencies };
}

/**
 * Clients that open a slow request and reset it `resetAfterMs` later, again
 * and again, for `seconds` (the storm: 4 clients, 30 ms, 12 s).
 * Resolves with how many requests were opened.
 */
export async function resetStorm(url: string, clients: number, resetAfterMs: number, seconds: number): Promise<number> {
  const until = performance.now() + seconds * 1000;
  let opened = 0;
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    // Bounded by time and by count.
    for (let i = 0; i < 100_000 && performance.now() < until; i += 1) {
      opened += 1;
      await httpRequest(`${url}&id=${c}-${i}`, { signal: AbortSignal.timeout(resetAfterMs) }).catch(() => undefined);
    }
  }));
  return opened;
}
