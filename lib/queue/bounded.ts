// Waiting on Redis with a bound: a close() that Redis never acknowledges
// (it is away) must not hold a server's shutdown forever.

/** True if `work` settled within `ms`; false if the bound came first (the work goes on, unawaited). */
export async function bounded(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The part of an ioredis client whose connection state is watched. */
export interface Watched {
  readonly status: string;
  once(event: 'close' | 'ready', listener: () => void): unknown;
}

/** Resolves once `redis` has been away (not ready) for `ms` without coming back: waiting on it is no longer worth it. Never while it stays connected. */
export function whileAway(redis: Watched, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const away = (): void => {
      const timer = setTimeout(resolve, ms);
      timer.unref(); // a shutdown's wait: it keeps nothing alive
      redis.once('ready', () => {
        clearTimeout(timer);
        redis.once('close', away);
      });
    };
    if (redis.status === 'ready') redis.once('close', away);
    else away();
  });
}
