// `slowlane worker`: a worker host for slowlane/queue. Parses arguments and
// runs lib/queue/worker-host.ts; nothing else lives here.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { MIN_MEMORY_MB, POOL_DEFAULTS, QUEUE_DEFAULTS } from '../defaults.js';
import { packageVersion } from '../package-info.js';
import type { ChildPoolOptions } from '../pool/pool-options.js';
import { parseRedisUrl, redisLabel } from '../queue/redis-url.js';
import type { WorkerHostConfig } from '../queue/worker-host.js';
import { positiveSeconds, queuePrefix, UsageError, usageMessage, wholeNumber, type Io } from './flags.js';

export const WORKER_USAGE = `Usage: slowlane worker --redis URL --queue NAME --tasks PATH [options]

Runs a worker host for slowlane/queue: takes jobs from the BullMQ queue NAME
on Redis, at most as many as its pool has children, and runs each in a child
process with the pool's limits. SIGTERM or Ctrl-C drains: no new jobs, the
ones held finish, then it exits.

Options:
  --redis URL          Redis, e.g. redis://127.0.0.1:6379, redis://USER:PASSWORD@host:6379/0,
                       rediss://... for TLS (a private CA: NODE_EXTRA_CA_CERTS=ca.pem), or
                       redis+sentinel://:PASSWORD@host:26379,host:26379/mymaster for Sentinel (required)
  --queue NAME         the queue's name, as the servers' QueueRunner has it (required)
  --prefix P           the start of the queue's Redis keys, as the servers' (default ${QUEUE_DEFAULTS.prefix};
                       a Redis Cluster needs a hash tag: {slowlane})
  --tasks PATH         the tasks module whose exported functions are the tasks (required)
  --pool-size N        children, and so jobs at once (default: CPU count, ${POOL_DEFAULTS.maxChildren} here)
  --timeout SECONDS    a task running longer is killed (default: none, or the requester's)
  --niceness K         children's CPU niceness, 0 to 19 (default ${POOL_DEFAULTS.niceness})
  --max-memory MB      kill a child whose memory passes MB while it runs a task (at least ${MIN_MEMORY_MB}; default: no cap)
  --max-result-mb MB   refuse a result larger than MB (default ${QUEUE_DEFAULTS.maxResultBytes / 1024 / 1024}: each is held in Redis until its requester reads it)
  --tasks-per-child N  replace each child after N tasks (default: never)
  --quiet              write no line per job (by default: "ok heavyLifting 412.31ms \"GET /slow_pool?id=1\"")
  -h, --help           show this help
  -v, --version        print slowlane's version

Example: slowlane worker --redis redis://127.0.0.1:6379 --queue slow --tasks ./tasks.js`;

/** Turns argv into a worker host's config, or 'help' / 'version'; throws UsageError on anything it cannot take. */
export type WorkerCommand = WorkerHostConfig & { quiet: boolean };

export function parseWorkerArgs(argv: readonly string[], cwd: string): WorkerCommand | 'help' | 'version' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        redis: { type: 'string' },
        queue: { type: 'string' },
        prefix: { type: 'string' },
        tasks: { type: 'string' },
        'pool-size': { type: 'string' },
        timeout: { type: 'string' },
        niceness: { type: 'string' },
        'max-memory': { type: 'string' },
        'max-result-mb': { type: 'string' },
        'tasks-per-child': { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    throw new UsageError(usageMessage(error, 'slowlane worker'));
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (v.version) return 'version';
  for (const flag of ['redis', 'queue', 'tasks'] as const) {
    if (v[flag] === undefined || v[flag] === '') throw new UsageError(`--${flag} is required - see "slowlane worker --help"`);
  }
  if (!/^[\w.-]{1,100}$/.test(v.queue!)) throw new UsageError(`--queue takes letters, digits, ".", "_" and "-" (up to 100), got "${v.queue!}"`);
  let connection;
  try {
    connection = parseRedisUrl(v.redis!);
  } catch (error) {
    throw new UsageError(`--redis: ${(error as Error).message}`);
  }
  const size = wholeNumber('pool-size', v['pool-size'], 1, 256);
  const timeout = positiveSeconds('timeout', v.timeout);
  const maxResultMb = wholeNumber('max-result-mb', v['max-result-mb'], 1, 1024);
  const pool: ChildPoolOptions = {
    tasks: pathToFileURL(resolve(cwd, v.tasks!)),
    ...(size === undefined ? {} : { maxChildren: size, minChildren: size }),
    ...(size === undefined ? { minChildren: POOL_DEFAULTS.maxChildren } : {}),
    spares: 0,
    ...(timeout === undefined ? {} : { timeoutMs: Math.round(timeout * 1000) }),
    ...(v.niceness === undefined ? {} : { niceness: wholeNumber('niceness', v.niceness, 0, 19)! }),
    ...(v['max-memory'] === undefined ? {} : { maxMemoryMb: wholeNumber('max-memory', v['max-memory'], MIN_MEMORY_MB, 1_048_576)! }),
    ...(maxResultMb === undefined ? {} : { maxResultBytes: maxResultMb * 1024 * 1024 }),
    ...(v['tasks-per-child'] === undefined ? {} : { tasksPerChild: wholeNumber('tasks-per-child', v['tasks-per-child'], 1, 1_000_000_000)! }),
  };
  const prefix = queuePrefix('prefix', v.prefix);
  return { connection, queue: v.queue!, ...(prefix === undefined ? {} : { prefix }), pool, quiet: v.quiet ?? false };
}

/** Runs `slowlane worker`; resolves with the exit code once it has drained. */
export async function workerMain(argv: readonly string[], io: Io, proc: NodeJS.Process = process): Promise<number> {
  let config: WorkerCommand | 'help' | 'version';
  try {
    config = parseWorkerArgs(argv, proc.cwd());
  } catch (error) {
    io.err(`slowlane worker: ${(error as Error).message}`);
    return 2;
  }
  if (config === 'help') return (io.out(WORKER_USAGE), 0);
  if (config === 'version') return (io.out(packageVersion()), 0);
  // Loaded only here: BullMQ is an optional peer dependency, and the other commands never need it.
  const { startWorkerHost } = await import('../queue/worker-host.js');
  let host;
  try {
    host = await startWorkerHost({ ...config, log: config.quiet ? undefined : io.err, notice: io.err });
  } catch (error) {
    io.err(`slowlane worker: ${(error as Error).message}`);
    return 1;
  }
  io.out(`worker ${proc.pid} taking jobs from queue "${config.queue}" on ${redisLabel(config.connection)} with ${host.pool.options.maxChildren} children`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    proc.once('SIGINT', resolve);
    proc.once('SIGTERM', resolve);
  });
  io.err(`${signal}: taking no more jobs; finishing the ones held`);
  await host.close();
  return 0;
}
