// `slowlane` (bin/server in a checkout): parses arguments and runs the demo
// server. Nothing else lives here.
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MAX_CHILDREN_LIMIT, MIN_MEMORY_MB, OFFLOAD_DEFAULTS, POOL_DEFAULTS, QUEUE_DEFAULTS, SERVER_DEFAULTS, SERVER_FLAG_FLOORS } from '../defaults.js';
import type { LogStream } from '../demo/log-writer.js';
import { startSlowlane, type SlowlaneConfig } from '../demo/start.js';
import { defaultOrdersPath } from '../demo/orders/orders-db.js';
import { packageVersion } from '../package-info.js';
import { parseRedisUrl } from '../queue/redis-url.js';
import { nginxConfigMain } from './nginx-config-cli.js';
import { workerMain } from './worker-cli.js';
import { positiveSeconds, queuePrefix, UsageError, usageMessage, wholeNumber, type Io } from './flags.js';

const d = SERVER_DEFAULTS;

export const SERVER_USAGE = `Usage: slowlane start [options]
       slowlane nginx-config --fast HOST:PORT,... --slow HOST:PORT,... (see its --help)
       slowlane worker --redis URL --queue NAME --tasks PATH (a worker host for slowlane/queue; see its --help)
       (from a checkout: bin/server instead of slowlane)

Starts slowlane's demo HTTP server. /fast answers at once; /slow runs CPU-heavy
work on the event loop and blocks everything; /slow_threaded runs it in a new
child process per request and /slow_pool in a pool of warm children, so fast
requests never wait. /report runs a SQLite report query on the event loop and
/report_pool the same query in children, one read-only connection each.
GET /stats shows counters and event-loop delay.

Options:
  --port N            port to listen on (default: $PORT, else ${d.port}; 0 picks a free port)
  --host ADDR         address to listen on (default ${d.host})
  --pool-size N       warm children serving /slow_pool (default: CPU count, ${d.poolSize} here)
  --max-children N    children computing at once for /slow_threaded (default: twice the CPU count, ${d.forkMaxChildren} here)
  --spares N          children started ahead of demand for /slow_threaded (default ${d.forkSpares})
  --max-queue N       slow requests that may wait for a child, per route (default ${OFFLOAD_DEFAULTS.maxQueue}); beyond it: 503
  --timeout SECONDS   a slow task running longer is killed and answered 504 (default ${d.timeoutMs / 1000})
  --grace SECONDS     on SIGTERM or Ctrl-C, time to answer requests already received (default ${d.graceMs / 1000})
  --niceness K        children's CPU niceness, 0 to 19, so fast requests win the CPU (default ${POOL_DEFAULTS.niceness})
  --max-memory MB     kill a child whose memory (RSS, with what its task started) passes MB while it
                      starts or runs a task: 500 for that request (at least ${MIN_MEMORY_MB}; default: no cap)
  --recycle-memory MB replace a child whose RSS is past MB after a task (at least ${MIN_MEMORY_MB}; default: never)
  --max-result-mb MB  refuse a task's result larger than MB: 500, the child stays (default ${d.maxResultMb})
  --tasks-per-child N replace each /slow_pool child after N tasks, plus up to 10 % (default: never)
  --max-child-age SECONDS  replace children older than this, at least ${SERVER_FLAG_FLOORS.maxChildAgeS} (default: never)
  --idle-timeout SECONDS   children idle this long leave, beyond what each pool keeps, at least ${SERVER_FLAG_FLOORS.idleTimeoutS} (default ${POOL_DEFAULTS.idleTimeoutMs / 1000})
  --max-starts N      child starts a second per pool; requests needing more wait (default ${POOL_DEFAULTS.maxStartsPerSecond}: 4 per core)
  --max-loop-delay MS refuse new slow requests (503) while the event loop is more than MS late (default: off)
  --queue-redis URL   run /slow_threaded and /slow_pool on slowlane/queue at this Redis (redis://host:port, rediss:// for TLS,
                      redis+sentinel://host:26379,host:26379/mymaster for Sentinel) instead of local children;
                      start worker hosts with "slowlane worker" (needs bullmq and ioredis)
  --queue NAME        the queue's name with --queue-redis (default ${d.queue})
  --queue-prefix P    the start of the queue's Redis keys, as the worker hosts' --prefix (default ${QUEUE_DEFAULTS.prefix}; {slowlane} for a Cluster)
  --warm-reports      start /report_pool's children with the server, not with the first report
  --db PATH           the orders database for /report and /report_pool, built on first start
                      (default ${defaultOrdersPath()})
  --trust-proxy LIST  proxy addresses (e.g. 127.0.0.1) whose X-Forwarded-For names the client in the access log
  --quiet             write no access log
  -h, --help          show this help
  -v, --version       print slowlane's version

Example: slowlane start --port 8888, then slowlane-call-multi slow_threaded`;

export interface ServerCommand {
  config: SlowlaneConfig;
  graceMs: number;
  quiet: boolean;
}

/** Turns argv into a command, or 'help' / 'version'; throws UsageError on anything it cannot take. */
export function parseServerArgs(argv: readonly string[], env: NodeJS.ProcessEnv): ServerCommand | 'help' | 'version' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'pool-size': { type: 'string' },
        'max-children': { type: 'string' },
        spares: { type: 'string' },
        'max-queue': { type: 'string' },
        timeout: { type: 'string' },
        grace: { type: 'string' },
        niceness: { type: 'string' },
        'max-memory': { type: 'string' },
        'recycle-memory': { type: 'string' },
        'max-result-mb': { type: 'string' },
        'tasks-per-child': { type: 'string' },
        'max-child-age': { type: 'string' },
        'idle-timeout': { type: 'string' },
        'max-starts': { type: 'string' },
        'max-loop-delay': { type: 'string' },
        'trust-proxy': { type: 'string' },
        db: { type: 'string' },
        'queue-redis': { type: 'string' },
        queue: { type: 'string' },
        'queue-prefix': { type: 'string' },
        'warm-reports': { type: 'boolean' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    throw new UsageError(usageMessage(error, 'slowlane'));
  }
  const { values: v, positionals } = parsed;
  if (v.help) return 'help';
  if (v.version) return 'version';
  if (positionals.length === 0) throw new UsageError('missing command: use "slowlane start" (see "slowlane --help")');
  if (positionals[0] !== 'start' || positionals.length > 1) throw new UsageError(`unknown command "${positionals.join(' ')}": use "slowlane start", "slowlane worker" or "slowlane nginx-config" (see "slowlane --help")`);
  let port: number;
  if (v.port !== undefined) port = wholeNumber('port', v.port, 0, 65535)!;
  else if (env['PORT'] !== undefined && env['PORT'] !== '') {
    const fromEnv = /^\d+$/.test(env['PORT']) ? Number(env['PORT']) : NaN;
    if (!(fromEnv <= 65535)) throw new UsageError(`PORT must be a whole number from 0 to 65535, got "${env['PORT']}"`);
    port = fromEnv;
  } else port = d.port;
  const timeout = positiveSeconds('timeout', v.timeout);
  return {
    config: {
      port,
      host: v.host ?? d.host,
      poolSize: wholeNumber('pool-size', v['pool-size'], 1, 256),
      maxChildren: wholeNumber('max-children', v['max-children'], 1, MAX_CHILDREN_LIMIT),
      spares: wholeNumber('spares', v.spares, 0, 64),
      maxQueue: wholeNumber('max-queue', v['max-queue'], 0, 100_000),
      timeoutMs: toMs(timeout),
      niceness: wholeNumber('niceness', v.niceness, 0, 19),
      maxMemoryMb: wholeNumber('max-memory', v['max-memory'], MIN_MEMORY_MB, 1_048_576),
      recycleMemoryMb: wholeNumber('recycle-memory', v['recycle-memory'], MIN_MEMORY_MB, 1_048_576),
      maxResultMb: wholeNumber('max-result-mb', v['max-result-mb'], 1, 1_048_576),
      tasksPerChild: wholeNumber('tasks-per-child', v['tasks-per-child'], 1, 1_000_000_000),
      maxChildAgeMs: toMs(positiveSeconds('max-child-age', v['max-child-age'], SERVER_FLAG_FLOORS.maxChildAgeS)),
      idleTimeoutMs: toMs(positiveSeconds('idle-timeout', v['idle-timeout'], SERVER_FLAG_FLOORS.idleTimeoutS)),
      maxStartsPerSecond: wholeNumber('max-starts', v['max-starts'], 1, 10_000),
      maxLoopDelayMs: wholeNumber('max-loop-delay', v['max-loop-delay'], 1, 60_000),
      trustProxy: trustedProxies(v['trust-proxy']),
      db: dbPath(v.db, env),
      warmReports: v['warm-reports'] ?? false,
      queueRedis: redisUrl(v['queue-redis']),
      queue: queueName(v.queue, v['queue-redis']),
      queuePrefix: onlyWithRedis('queue-prefix', queuePrefix('queue-prefix', v['queue-prefix']), v['queue-redis']),
    },
    graceMs: toMs(positiveSeconds('grace', v.grace)) ?? d.graceMs,
    quiet: v.quiet ?? false,
  };
}

function redisUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  try {
    parseRedisUrl(raw);
  } catch (error) {
    throw new UsageError(`--queue-redis: ${(error as Error).message}`);
  }
  return raw;
}

function onlyWithRedis<T>(flag: string, value: T | undefined, redis: string | undefined): T | undefined {
  if (value !== undefined && redis === undefined) throw new UsageError(`--${flag} goes with --queue-redis; give --queue-redis URL too`);
  return value;
}

function queueName(raw: string | undefined, redis: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (redis === undefined) throw new UsageError('--queue names the queue of --queue-redis; give --queue-redis URL too');
  if (!/^[\w.-]{1,100}$/.test(raw)) throw new UsageError(`--queue takes letters, digits, ".", "_" and "-" (up to 100), got "${raw}"`);
  return raw;
}

function dbPath(raw: string | undefined, env: NodeJS.ProcessEnv): string {
  if (raw === undefined) return defaultOrdersPath(env);
  if (raw === '' || raw.endsWith('/')) throw new UsageError(`--db takes a file path, like /tmp/orders.sqlite; got "${raw}"`);
  return resolve(raw);
}

const toMs = (seconds: number | undefined): number | undefined => (seconds === undefined ? undefined : Math.round(seconds * 1000));

function trustedProxies(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const list = raw.split(',').map((entry) => entry.trim()).filter(Boolean);
  if (list.length === 0 || list.some((entry) => !isIP(entry))) throw new UsageError(`--trust-proxy takes IP addresses separated by commas, like 127.0.0.1; got "${raw}"`);
  return list;
}

export function listenFailure(error: unknown, host: string, port: number): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return `port ${port} is already in use on ${host} - stop the other server or pick another with --port`;
  if (code === 'EACCES') return `no permission to listen on port ${port} - use a port above 1023`;
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') return `cannot listen on ${host}: no such address on this machine - try --host 127.0.0.1`;
  return `cannot listen on ${host}:${port}: ${(error as Error).message}`;
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGINT: 2, SIGTERM: 15 };

/** Runs `slowlane`; resolves with the exit code once the server has stopped. */
export async function serverMain(argv: readonly string[], io: Io, proc: NodeJS.Process = process): Promise<number> {
  if (argv[0] === 'nginx-config') return nginxConfigMain(argv.slice(1), io);
  if (argv[0] === 'worker') return workerMain(argv.slice(1), io, proc);
  let command: ServerCommand | 'help' | 'version';
  try {
    command = parseServerArgs(argv, proc.env);
  } catch (error) {
    io.err(`slowlane: ${(error as Error).message}`);
    return 2;
  }
  if (command === 'help') {
    io.out(SERVER_USAGE);
    return 0;
  }
  if (command === 'version') {
    io.out(packageVersion());
    return 0;
  }
  const { config, graceMs, quiet } = command;
  let running;
  try {
    const lines: LogStream = { write: (chunk) => (io.err(chunk.trimEnd()), true), once: () => undefined };
    running = await startSlowlane({ ...config, logTo: quiet ? undefined : (io.logStream ?? lines), log: io.err });
  } catch (error) {
    io.err(`slowlane: ${listenFailure(error, config.host, config.port)}`);
    return 1;
  }
  const { address } = running;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  io.out(`listening on http://${host}:${address.port}`);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    proc.once('SIGINT', resolve);
    proc.once('SIGTERM', resolve);
  });
  io.err(`${signal}: answering requests already received (up to ${graceMs / 1000} s); send it again to stop at once`);
  const again = (second: NodeJS.Signals): void => {
    io.err(`${second} again: stopping now`);
    void running.destroy().then(() => proc.exit(128 + (SIGNAL_NUMBERS[second] ?? 0)));
  };
  proc.once('SIGINT', again);
  proc.once('SIGTERM', again);
  const { clean, lost } = await running.shutdown(graceMs);
  if (lost > 0) io.err(`slowlane: the ${graceMs / 1000} s grace period ran out; ${lost} request(s) still running were cut off`);
  else if (!clean) io.err(`slowlane: the ${graceMs / 1000} s grace period ran out; no request was lost`);
  return lost > 0 ? 1 : 0;
}
