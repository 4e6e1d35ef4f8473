// Whether the spawner still answers. It owes an answer for each start (the
// child's pid) and for each child the server SIGKILLed (its exit). An answer
// late by `limitMs` proves little on its own (a child at niceness 19 on a
// busy machine can take seconds to die), so the watch pings the spawner; one
// that answers the ping in as long again is alive, and what it owes gets as
// long again; one that does not is hung (stopped, or wedged). One timer at a
// time; nothing runs while nothing is owed.

export interface AnswerWatchHooks {
  /** Sends the spawner a ping; false if there is no spawner to ask. */
  ping(): boolean;
  /** The spawner answered neither what it owed nor the ping. */
  hung(): void;
}

export class AnswerWatch {
  /** When each owed answer is late (performance.now()), by child id. */
  readonly #owed = new Map<number, number>();
  #timer: NodeJS.Timeout | undefined;
  #pinging = false;

  constructor(readonly limitMs: number, readonly hooks: AnswerWatchHooks) {}

  owe(id: number): void {
    this.#owed.set(id, performance.now() + this.limitMs);
    this.#arm();
  }

  paid(id: number): void {
    if (!this.#owed.delete(id) || this.#owed.size > 0 || this.#pinging) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The spawner answered the ping: alive, just slow with what it owes. */
  pong(): void {
    if (!this.#pinging) return;
    this.#pinging = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const again = performance.now() + this.limitMs;
    for (const id of this.#owed.keys()) this.#owed.set(id, again);
    this.#arm();
  }

  /** The spawner is gone: it owes nothing any more. */
  clear(): void {
    this.#owed.clear();
    this.#pinging = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#owed.size === 0) return;
    const due = Math.min(...this.#owed.values());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if ([...this.#owed.values()].some((at) => at <= performance.now())) this.#late();
      else this.#arm();
    }, Math.max(0, due - performance.now()));
    this.#timer.unref();
  }

  #late(): void {
    if (!this.hooks.ping()) return;
    this.#pinging = true;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#pinging = false;
      this.hooks.hung();
    }, this.limitMs);
    this.#timer.unref();
  }
}
