// The pool's one timer: set for the earliest moment any policy asked to be
// looked at again (a spawn-budget token, a back-off, an age or idle limit, a
// memory sample). It keeps the process alive only while a run waits for a
// start; limits and sampling alone do not.

export class WakeUp {
  #timer: NodeJS.Timeout | undefined;
  #at = Infinity;

  constructor(readonly onWake: () => void) {}

  /** When it fires next (Infinity: never). */
  get at(): number {
    return this.#at;
  }

  set(at: number, ref: boolean, now = performance.now()): void {
    if (at !== this.#at || this.#timer === undefined) {
      this.clear();
      if (at === Infinity) return;
      this.#at = at;
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#at = Infinity;
        this.onWake();
      }, Math.max(1, Math.ceil(at - now)));
    }
    if (ref) this.#timer.ref();
    else this.#timer.unref();
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#at = Infinity;
  }
}
