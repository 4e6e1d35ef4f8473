// Puts the pieces together the way `bin/server start` runs them: the two
// executors on slowlane's own tasks module, the HTTP server in front, and a
// shutdown that finishes what was received before it ends every child.
import { availableParallelism } from 'node:os';
import type { AddressInfo } from 'node:net';
import { createServer, type SlowlaneServer } from './http/server.js';
import { ForkExecutor } from './offload/fork-executor.js';
import { PoolExecutor } from './offload/pool-executor.js';

export interface SlowlaneConfig {
  port: number;
  host: string;
  poolSize?: number;
  maxChildren?: number;
  maxQueue?: number;
  spares?: number;
  timeoutMs?: number;
  niceness?: number;
  accessLog?: ((line: string) => void) | undefined;
  /** Proxies whose X-Forwarded-For names the client in the access log. */
  trustProxy?: readonly string[] | undefined;
  /** Another tasks module exporting `heavyLifting`; tests use it to inject failures. */
  tasks?: string | URL;
}

export interface RunningSlowlane {
  readonly address: AddressInfo;
  readonly server: SlowlaneServer;
  readonly executors: { fork: ForkExecutor; pool: PoolExecutor };
  /** Finishes every request already received, then ends every child. False if graceMs ran out first and everything was cut off. */
  shutdown(graceMs: number): Promise<boolean>;
  /** Ends every connection and child now. */
  destroy(): Promise<void>;
}

export const DEFAULT_TASKS = new URL('./tasks.js', import.meta.url);

export async function startSlowlane(config: SlowlaneConfig): Promise<RunningSlowlane> {
  const cores = availableParallelism();
  const common = {
    tasks: config.tasks ?? DEFAULT_TASKS,
    maxQueue: config.maxQueue ?? 100,
    timeoutMs: config.timeoutMs ?? 30_000,
    niceness: config.niceness ?? 19,
  };
  const executors = {
    fork: new ForkExecutor({ ...common, maxChildren: config.maxChildren ?? 2 * cores, spares: config.spares ?? 1 }),
    pool: new PoolExecutor({ ...common, size: config.poolSize ?? cores }),
  };
  const server = createServer({ executors, accessLog: config.accessLog, trustProxy: config.trustProxy });
  const destroy = async (): Promise<void> => {
    server.destroy();
    await Promise.all([executors.fork.destroy(), executors.pool.destroy()]);
  };
  let address: AddressInfo;
  try {
    address = await server.listen(config.port, config.host);
  } catch (error) {
    await destroy();
    throw error;
  }

  async function shutdown(graceMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const ranOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    });
    const finished = (async () => {
      await server.close();
      await Promise.all([executors.fork.close(), executors.pool.close()]);
      return true as const;
    })();
    const clean = await Promise.race([finished, ranOut]);
    clearTimeout(timer);
    if (!clean) await destroy();
    return clean;
  }

  return { address, server, executors, shutdown, destroy };
}
