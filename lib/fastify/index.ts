// slowlane/fastify: a Fastify 5 plugin that adds reply.offload(task, args,
// options?). Register it with the pool (or pools) you made; closing Fastify
// closes nothing the plugin did not create. Fastify is an optional peer
// dependency: this subpath says which package to install if it is missing.
import type { FastifyPluginCallback } from 'fastify';
import { OFFLOAD_DEFAULTS } from '../defaults.js';
import { pressureFrom } from '../http/loop-pressure.js';
import { checkCount } from '../pool/pool-options.js';
import { assertFastifyInstalled, FASTIFY_MAJOR } from './peer-check.js';
import type { LooseRunner } from '../pool/task-types.js';
import { replyOffload } from './reply-offload.js';
import type { SlowlaneFastifyOptions } from './types.js';

export type { PoolName, ReplyOffload, ReplyOffloadOptions, SlowlaneFastifyOptions, SlowlanePools, TasksOf } from './types.js';
export { fastifyFailure } from './reply-offload.js';

assertFastifyInstalled();

function choosePools(options: SlowlaneFastifyOptions): Map<string, LooseRunner> {
  const given = options.pool !== undefined ? { default: options.pool } : options.pools;
  if (typeof given !== 'object' || given === null) throw new TypeError('slowlane/fastify: register it with { pool } or { pools: { name: pool } }');
  const pools = new Map<string, LooseRunner>();
  for (const [name, pool] of Object.entries(given)) {
    if (typeof (pool as { run?: unknown } | undefined)?.run !== 'function') throw new TypeError(`slowlane/fastify: pool "${name}" has no run(); pass a ChildPool (or any TaskRunner)`);
    pools.set(name, pool as unknown as LooseRunner);
  }
  if (pools.size === 0) throw new TypeError('slowlane/fastify: { pools } is empty; give at least one pool');
  return pools;
}

const TWICE = 'slowlane/fastify: registered twice in the same scope (reply.offload exists already); register it once, with { pools: { name: pool } } for several pools';
const alreadyRegistered = (error: unknown): boolean => (error as { code?: unknown } | null)?.code === 'FST_ERR_DEC_ALREADY_PRESENT';

const slowlane: FastifyPluginCallback<SlowlaneFastifyOptions> = (fastify, options, done) => {
  let pools: Map<string, LooseRunner>;
  let maxQueue: number;
  try {
    pools = choosePools(options);
    maxQueue = checkCount('maxQueue of slowlane/fastify', options.maxQueue ?? OFFLOAD_DEFAULTS.maxQueue, 0, Number.MAX_SAFE_INTEGER, true);
  } catch (error) {
    done(error as Error);
    return;
  }
  const names = [...pools.keys()].join(', ');
  const pressure = pressureFrom(options);
  const pool = (name = 'default'): LooseRunner => {
    const found = pools.get(name);
    if (found === undefined) throw new TypeError(`reply.offload: no pool "${name}"; the registered pools are ${names} (say which with { pool: '...' })`);
    return found;
  };
  try {
    fastify.decorateReply('offload', replyOffload({ pool, pressure, maxQueue }));
  } catch (error) {
    // Thrown here it would be uncaught (avvio does not catch a callback plugin's throw) and end the process.
    done(alreadyRegistered(error) ? new Error(TWICE) : (error as Error));
    return;
  }
  done();
};

// What fastify-plugin would set: the decorator is visible to the routes of
// the scope that registers the plugin, and Fastify checks its version.
Object.assign(slowlane, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'slowlane',
  [Symbol.for('plugin-meta')]: { name: 'slowlane', fastify: `${FASTIFY_MAJOR}.x` },
});

export default slowlane;
