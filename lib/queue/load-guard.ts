// A worker host whose tasks module stops loading must not take jobs only to
// fail them: the LoadGuard says when to stop taking jobs, tries the module
// again on a bounded back-off, and says when to take them again. It knows
// nothing of BullMQ or of the pool: it is handed what to call.
import { QUEUE_DEFAULTS } from '../defaults.js';
import { Backoff } from '../pool/schedule/policy/backoff.js';

export interface LoadGuardHooks {
  /** Stop taking jobs (the ones held go on). */
  pause: () => Promise<void>;
  /** Take jobs again. */
  resume: () => Promise<void>;
  /** Resolves once the tasks module loads again; rejects while it does not. */
  probe: () => Promise<void>;
  /** Told when the host stops (with the load error) and starts again taking jobs. */
  onChange?: ((taking: boolean, error?: Error) => void) | undefined;
  initialMs?: number;
  maxMs?: number;
}

/** True for the pool's TaskLoadError, by its code: a pool built from another copy of slowlane is another class. */
export const isLoadError = (error: unknown): error is Error => (error as { code?: unknown } | null)?.code === 'ERR_TASK_MODULE_LOAD';

/** A probe that did not answer within a try: the next try asks again. */
const NOT_YET = new Error('the tasks module has not loaded yet');

export class LoadGuard {
  readonly #hooks: LoadGuardHooks;
  readonly #backoff: Backoff;
  #stopped = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(hooks: LoadGuardHooks) {
    this.#hooks = hooks;
    this.#backoff = new Backoff({ initialMs: hooks.initialMs ?? QUEUE_DEFAULTS.reloadFirstMs, maxMs: hooks.maxMs ?? QUEUE_DEFAULTS.reloadMaxMs });
  }

  /** The host takes no jobs now: any job it still gets goes back. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** A run failed because the module does not load: stop taking jobs (once), and try it again later. Resolves once paused. */
  async tripped(error: Error): Promise<void> {
    if (this.#stopped || this.#closed) return;
    this.#stopped = true;
    this.#hooks.onChange?.(false, error);
    await this.#hooks.pause();
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => void this.#try(), this.#backoff.fail());
  }

  async #try(): Promise<void> {
    this.#timer = undefined;
    try {
      // A probe that has not answered by the next try counts as "not yet": never more than one wait at a time.
      let timer: NodeJS.Timeout | undefined;
      const notYet = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(NOT_YET), this.#hooks.maxMs ?? QUEUE_DEFAULTS.reloadMaxMs)));
      try {
        await Promise.race([this.#hooks.probe(), notYet]);
      } finally {
        clearTimeout(timer);
      }
    } catch (error) {
      if (isLoadError(error) || error === NOT_YET) this.#schedule();
      // Any other failure (the pool was closed) ends the tries: the host is closing.
      return;
    }
    if (this.#closed) return;
    this.#stopped = false;
    this.#backoff.reset();
    await this.#hooks.resume();
    this.#hooks.onChange?.(true);
  }

  /** No more tries. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }
}
