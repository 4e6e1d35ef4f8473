// Load shedding on event-loop delay, as Fastify's under-pressure does with
// maxEventLoopDelay: while this process's loop has been late by more than a
// limit within the last second, new slow requests are refused (503 with
// Retry-After) so that the requests it can answer at once still get answered.
//
// A heartbeat every BEAT_MS records how late it fired; the delay is the
// largest lateness of the last ~second, or how long the loop has been stuck
// right now, whichever is more. A blocked loop is seen by the first request
// handled after it, even before the heartbeat has run again.

import { HttpError } from './http-error.js';

/** Heartbeat interval: 10 wake-ups a second cost nothing measurable. */
const BEAT_MS = 100;
/** Beats remembered: one second. */
const WINDOW_BEATS = 10;

export interface LoopPressureStats {
  maxDelayMs: number;
  /** The delay now: the largest of the last second, in ms. */
  delayMs: number;
  shedding: boolean;
  /** Requests refused since start. */
  shed: number;
}

export class LoopPressure {
  readonly maxDelayMs: number;
  readonly #late = new Array<number>(WINDOW_BEATS).fill(0);
  #beat = 0;
  #lastBeatAt: number;
  #shed = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(maxDelayMs: number, now: () => number = () => performance.now()) {
    if (!(maxDelayMs > 0 && Number.isFinite(maxDelayMs))) throw new RangeError(`maxDelayMs must be a number of ms above 0, got ${maxDelayMs}`);
    this.maxDelayMs = maxDelayMs;
    this.#now = now;
    this.#lastBeatAt = now();
    this.#timer = setInterval(() => {
      const at = this.#now();
      this.#late[this.#beat % WINDOW_BEATS] = Math.max(0, at - this.#lastBeatAt - BEAT_MS);
      this.#beat += 1;
      this.#lastBeatAt = at;
    }, BEAT_MS);
    this.#timer.unref();
  }

  readonly #now: () => number;

  /** The largest loop delay of the last second, or the current stall if longer; ms. */
  delayMs(): number {
    const stalled = this.#now() - this.#lastBeatAt - BEAT_MS;
    return Math.max(stalled, ...this.#late);
  }

  /** True (and counted) if a new slow request should be refused now. */
  shouldShed(): boolean {
    if (this.delayMs() <= this.maxDelayMs) return false;
    this.#shed += 1;
    return true;
  }

  stats(): LoopPressureStats {
    const delayMs = Math.round(this.delayMs() * 100) / 100;
    return { maxDelayMs: this.maxDelayMs, delayMs: Math.max(0, delayMs), shedding: delayMs > this.maxDelayMs, shed: this.#shed };
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** The 503 a refused request gets: how late the loop is, and when to retry. */
  overloaded(): HttpError {
    return new HttpError(503, `server overloaded: its event loop is ${Math.round(this.delayMs())} ms late (limit ${this.maxDelayMs} ms); retry in a second`, { 'retry-after': '1' });
  }
}

/** One monitor per limit, shared by every offload() handler that asks for it. */
const shared = new Map<number, LoopPressure>();

export function sharedLoopPressure(maxDelayMs: number): LoopPressure {
  let pressure = shared.get(maxDelayMs);
  if (pressure === undefined) {
    pressure = new LoopPressure(maxDelayMs);
    shared.set(maxDelayMs, pressure);
  }
  return pressure;
}

/** The monitor an option pair names: your own `loopPressure`, or the shared one for `maxLoopDelayMs`, or none. */
export function pressureFrom(options: { maxLoopDelayMs?: number | undefined; loopPressure?: LoopPressure | undefined }): LoopPressure | undefined {
  return options.loopPressure ?? (options.maxLoopDelayMs === undefined ? undefined : sharedLoopPressure(options.maxLoopDelayMs));
}
