// A requester's inbox reader: one blocking read at a time on a connection of
// its own (BLMPOP: Redis answers when answers are there, nothing polls),
// each answer handed to a callback. Answers wait in the list while this side
// is busy, so a loop held for seconds loses none. Big answers are fetched
// (and deleted) by name.
import { QUEUE_DEFAULTS } from '../defaults.js';
import { inboxKey, resultKey } from './channels.js';
import { readEntry } from './answer.js';
import { errorFromWire, type WireError } from './wire.js';

/** The connection the inbox reads on: its own, as a blocking read holds it. */
export interface InboxReaderRedis {
  blmpopBuffer(timeout: number, numkeys: number, key: string, left: 'LEFT', countToken: 'COUNT', count: number): Promise<[Buffer, Buffer[]] | null>;
  once(event: 'ready', listener: () => void): unknown;
  disconnect(): void;
}
/** The connection big answers are fetched on. */
export interface InboxFetchRedis {
  getdelBuffer(key: string): Promise<Buffer | null>;
}

/** One run's outcome as read: its value, or the error it failed with (or why its answer could not be read). */
export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown; unreadable?: boolean };

export interface InboxOptions {
  reader: InboxReaderRedis;
  fetcher: InboxFetchRedis;
  /** The queue's key space (channels.ts keySpace). */
  space: string;
  runnerId: string;
  onAnswer: (jobId: string, outcome: Outcome) => void;
  /** Answers taken per read. Default QUEUE_DEFAULTS.inboxReadCount. */
  readCount?: number;
}

export class Inbox {
  readonly #options: InboxOptions;
  readonly #key: string;
  #closed = false;
  /** Entries read that were not answers (bytes something else pushed): counted, skipped. */
  foreign = 0;

  constructor(options: InboxOptions) {
    this.#options = options;
    this.#key = inboxKey(options.space, options.runnerId);
  }

  /** Reads until closed. */
  start(): void {
    void this.#readLoop();
  }

  close(): void {
    this.#closed = true;
    this.#options.reader.disconnect();
  }

  async #readLoop(): Promise<void> {
    const { reader } = this.#options;
    const count = this.#options.readCount ?? QUEUE_DEFAULTS.inboxReadCount;
    while (!this.#closed) {
      let read: [Buffer, Buffer[]] | null;
      try {
        read = await reader.blmpopBuffer(0, 1, this.#key, 'LEFT', 'COUNT', count);
      } catch {
        if (this.#closed) return;
        // The connection dropped: ioredis reconnects by itself; read again once it has.
        await new Promise<void>((resolve) => reader.once('ready', resolve));
        continue;
      }
      for (const bytes of read?.[1] ?? []) this.#take(bytes);
    }
  }

  #take(bytes: Buffer): void {
    const entry = readEntry(bytes);
    if (entry === undefined) {
      this.foreign++;
      return;
    }
    if (entry.kind === 'big') {
      void this.#fetch(entry.id);
      return;
    }
    this.#options.onAnswer(entry.id, outcome(entry.kind, entry.read));
  }

  /** A big answer: fetched and deleted in one command, its run settled with it. */
  async #fetch(id: string): Promise<void> {
    let stored: Buffer | null;
    try {
      stored = await this.#options.fetcher.getdelBuffer(resultKey(this.#options.space, id));
    } catch (error) {
      this.#options.onAnswer(id, { ok: false, error });
      return;
    }
    const entry = stored === null ? undefined : readEntry(stored);
    if (entry === undefined || entry.kind === 'big') {
      this.#options.onAnswer(id, { ok: false, error: new Error(`its answer was gone from Redis before it was read (kept ${QUEUE_DEFAULTS.resultTtlMs / 1000} s, resultTtlMs); is Redis evicting keys (maxmemory-policy)?`) });
      return;
    }
    this.#options.onAnswer(id, outcome(entry.kind, entry.read));
  }
}

function outcome(kind: 'value' | 'error', read: () => unknown): Outcome {
  let payload: unknown;
  try {
    payload = read();
  } catch (error) {
    return { ok: false, error, unreadable: true };
  }
  return kind === 'value' ? { ok: true, value: payload } : { ok: false, error: errorFromWire(payload as WireError) };
}
