// Fills deploy/nginx.conf.template: an upstream group for fast instances, one
// for slow instances, and the routing between them.
import { readFileSync } from 'node:fs';
import { packageFile } from '../package-info.js';

/** Shipped in the package beside dist/, so it is found from a checkout and from node_modules alike. */
export const TEMPLATE = packageFile('deploy/nginx.conf.template');

export interface NginxConfigOptions {
  fast: readonly string[];
  slow: readonly string[];
  /** Port, or address:port, nginx listens on. */
  listen: string;
  /** The instances' --timeout in seconds; nginx waits a little longer. */
  timeoutSeconds: number;
  /** Where nginx keeps its pid, logs and temporary files. */
  runDir: string;
}

/** Checks one `host:port` (IPv6 as `[::1]:port`); throws a one-line error naming the flag. */
export function parseInstance(flag: string, raw: string): string {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(raw.trim());
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) {
    throw new Error(`--${flag} takes host:port entries separated by commas, like 127.0.0.1:8001,127.0.0.1:8002; got "${raw}"`);
  }
  return `${match[1]}:${match[2]}`;
}

export function parseInstances(flag: string, raw: string | undefined): string[] {
  if (raw === undefined || raw.trim() === '') throw new Error(`--${flag} is required: the ${flag} instances as host:port,host:port`);
  return raw.split(',').map((entry) => parseInstance(flag, entry));
}

export function renderNginxConfig(options: NginxConfigOptions, template = readFileSync(TEMPLATE, 'utf8')): string {
  const servers = (list: readonly string[]) => list.map((address) => `        server ${address} max_fails=1 fail_timeout=5s;`).join('\n');
  const values: Record<string, string> = {
    FAST_SERVERS: servers(options.fast),
    SLOW_SERVERS: servers(options.slow),
    LISTEN: options.listen,
    READ_TIMEOUT: String(Math.ceil(options.timeoutSeconds) + 5),
    RUN_DIR: options.runDir.replace(/\/+$/, ''),
  };
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (whole, name: string) => values[name] ?? whole);
}
