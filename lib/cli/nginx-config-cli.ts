// `slowlane nginx-config`: prints an nginx config for fast and slow instances.
import { parseArgs } from 'node:util';
import { parseInstances, renderNginxConfig } from '../deploy/nginx-config.js';
import { packageVersion } from '../package-info.js';
import { positiveSeconds, UsageError, usageMessage, type Io } from './flags.js';

export const NGINX_CONFIG_USAGE = `Usage: slowlane nginx-config --fast HOST:PORT,... --slow HOST:PORT,... [options]

Prints a complete nginx config: /slow, /slow_threaded and /slow_pool go to the
slow instances, everything else to the fast ones.

Options:
  --fast LIST        fast instances, e.g. 127.0.0.1:8001,127.0.0.1:8002 (required)
  --slow LIST        slow instances, e.g. 127.0.0.1:8101,127.0.0.1:8102 (required)
  --listen PORT      port or address:port nginx listens on (default 8080)
  --timeout SECONDS  the instances' --timeout; nginx waits 5 s longer (default 30)
  --run-dir DIR      nginx's pid, logs and temp files; it must exist (default /var/lib/slowlane-nginx)
  -h, --help         show this help
  -v, --version      print slowlane's version

Example: mkdir -p /var/lib/slowlane-nginx
         slowlane nginx-config --fast 127.0.0.1:8001 --slow 127.0.0.1:8101 > slowlane.conf
         nginx -t -c "$PWD/slowlane.conf"`;

export function nginxConfigMain(argv: readonly string[], io: Io): number {
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args: [...argv],
        options: {
          fast: { type: 'string' },
          slow: { type: 'string' },
          listen: { type: 'string' },
          timeout: { type: 'string' },
          'run-dir': { type: 'string' },
          help: { type: 'boolean', short: 'h' },
          version: { type: 'boolean', short: 'v' },
        },
      });
    } catch (error) {
      throw new UsageError(usageMessage(error, 'slowlane nginx-config'));
    }
    const { values: v } = parsed;
    if (v.help) {
      io.out(NGINX_CONFIG_USAGE);
      return 0;
    }
    if (v.version) {
      io.out(packageVersion());
      return 0;
    }
    const listen = v.listen ?? '8080';
    if (!/^([\w.-]+:|\[[0-9a-fA-F:]+\]:)?\d{1,5}$/.test(listen)) throw new UsageError(`--listen takes a port or address:port, like 8080 or 127.0.0.1:8080; got "${listen}"`);
    const runDir = v['run-dir'] ?? '/var/lib/slowlane-nginx';
    if (!runDir.startsWith('/')) throw new UsageError(`--run-dir must be an absolute path, got "${runDir}"`);
    // It is written into the config as it is: nothing in it may end a directive or open a block.
    if (/[;{}'"\s\\$#]/.test(runDir)) throw new UsageError(`--run-dir may not hold spaces, quotes, ; { } $ # or backslashes, got ${JSON.stringify(runDir)}`);
    io.out(renderNginxConfig({
      fast: parseInstances('fast', v.fast),
      slow: parseInstances('slow', v.slow),
      listen,
      timeoutSeconds: positiveSeconds('timeout', v.timeout) ?? 30,
      runDir,
    }));
    return 0;
  } catch (error) {
    io.err(`slowlane nginx-config: ${(error as Error).message}`);
    return 2;
  }
}
