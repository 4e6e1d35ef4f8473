// The promises a pool hands out that settle later: ready() and close().

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class PoolWaiters {
  #ready: Waiter[] = [];
  #closed: Promise<void> | undefined;
  #resolveClosed: (() => void) | undefined;

  get waitingForReady(): boolean {
    return this.#ready.length > 0;
  }

  ready(): Promise<void> {
    return new Promise((resolve, reject) => this.#ready.push({ resolve, reject }));
  }

  resolveReady(): void {
    for (const waiter of this.#ready.splice(0)) waiter.resolve();
  }

  rejectReady(error: unknown): void {
    for (const waiter of this.#ready.splice(0)) waiter.reject(error);
  }

  /** One promise for every close() and destroy() call. */
  closed(): Promise<void> {
    this.#closed ??= new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    return this.#closed;
  }

  resolveClosed(): void {
    this.#resolveClosed?.();
  }
}
