// Puts the demo together the way `slowlane start` runs it: two pools on the
// demo's tasks module, the HTTP server in front, and a shutdown that finishes
// what was received before it ends every child.
import type { AddressInfo } from 'node:net';
import { SERVER_DEFAULTS } from '../defaults.js';
import { ChildPool } from '../pool/child-pool.js';
import { createServer, type DemoTasks, type SlowlaneServer } from './server.js';

export interface SlowlaneConfig {
  port: number;
  host: string;
  poolSize?: number | undefined;
  maxChildren?: number | undefined;
  maxQueue?: number | undefined;
  spares?: number | undefined;
  timeoutMs?: number | undefined;
  niceness?: number | undefined;
  accessLog?: ((line: string) => void) | undefined;
  /** Proxies whose X-Forwarded-For names the client in the access log. */
  trustProxy?: readonly string[] | undefined;
  /** Another tasks module exporting `heavyLifting`; tests use it to inject failures. */
  tasks?: string | URL | undefined;
}

export interface RunningSlowlane {
  readonly address: AddressInfo;
  readonly server: SlowlaneServer;
  readonly pools: { perRequest: ChildPool<DemoTasks>; warm: ChildPool<DemoTasks> };
  /** Finishes every request already received, then ends every child. False if graceMs ran out first and everything was cut off. */
  shutdown(graceMs: number): Promise<boolean>;
  /** Ends every connection and child now. */
  destroy(): Promise<void>;
}

export const DEMO_TASKS = new URL('./tasks.js', import.meta.url);

export async function startSlowlane(config: SlowlaneConfig): Promise<RunningSlowlane> {
  const d = SERVER_DEFAULTS;
  const common = {
    tasks: config.tasks ?? DEMO_TASKS,
    maxQueue: config.maxQueue,
    timeoutMs: config.timeoutMs ?? d.timeoutMs,
    niceness: config.niceness,
  };
  const poolSize = config.poolSize ?? d.poolSize;
  const pools = {
    // The prototype's process per request, with spares started ahead of demand.
    perRequest: new ChildPool<DemoTasks>({ ...common, tasksPerChild: 1, minChildren: 0, maxChildren: config.maxChildren ?? d.forkMaxChildren, spares: Math.min(config.spares ?? d.forkSpares, config.maxChildren ?? d.forkMaxChildren) }),
    // Warm children that serve task after task.
    warm: new ChildPool<DemoTasks>({ ...common, minChildren: poolSize, maxChildren: poolSize, spares: 0 }),
  };
  const server = createServer({ pools, accessLog: config.accessLog, trustProxy: config.trustProxy });
  const destroy = async (): Promise<void> => {
    server.destroy();
    await Promise.all([pools.perRequest.destroy(), pools.warm.destroy()]);
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
      await Promise.all([pools.perRequest.close(), pools.warm.close()]);
      return true as const;
    })();
    const clean = await Promise.race([finished, ranOut]);
    clearTimeout(timer);
    if (!clean) await destroy();
    return clean;
  }

  return { address, server, pools, shutdown, destroy };
}
