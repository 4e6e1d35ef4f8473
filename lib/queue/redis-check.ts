// Before a worker host starts taking jobs: does this Redis let us in? A
// wrong password or an untrusted TLS certificate never fixes itself, so it
// ends the start with one line naming it; a Redis that is not up yet is
// waited for (ioredis reconnects), as hosts may start before Redis does.
import type { RedisOptions } from 'ioredis';
import { ioredis } from './peer.js';
import { redisLabel, type RedisConnection } from './redis-url.js';

/** What is wrong for good with this connection error, in words, or undefined if waiting may fix it (refused, reset, timed out). */
export function redisProblem(error: unknown): string | undefined {
  const { message = '', code } = (error ?? {}) as { message?: string; code?: unknown };
  if (/^WRONGPASS\b/.test(message)) return `refused the password (${message})`;
  if (/^NOAUTH\b/.test(message)) return `asks for a password (${message}); give it in the URL: redis://:PASSWORD@host:port`;
  if (/^ERR (invalid password|AUTH <password> called without any password)/i.test(message)) return `refused the password (${message})`;
  // Node's TLS failures: the certificate cannot be trusted, or is not this host's.
  if (typeof code === 'string' && (/CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_'))) {
    return `TLS: ${message}${/SELF_SIGNED|UNABLE_TO/.test(code) ? ' (a private CA: give it to Node with NODE_EXTRA_CA_CERTS=/path/to/ca.pem)' : ''}`;
  }
  return undefined;
}

/** Resolves once Redis answers with these options; rejects with one line (no password in it) on a failure that waiting will not fix. */
export function checkRedis(connection: RedisConnection & RedisOptions): Promise<void> {
  const Redis = ioredis();
  const client = new Redis({ ...connection, lazyConnect: true, maxRetriesPerRequest: null });
  return new Promise<void>((resolve, reject) => {
    client.on('error', (error: unknown) => {
      const problem = redisProblem(error);
      if (problem === undefined) return;
      client.disconnect();
      reject(new Error(`Redis at ${redisLabel(connection)}${problem.startsWith('TLS') ? ': ' : ' '}${problem}`));
    });
    client.once('ready', () => {
      client.disconnect();
      resolve();
    });
    client.connect().catch(() => {}); // its failures come as 'error' above
  });
}
