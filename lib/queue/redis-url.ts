// redis://[user:password@]host[:port][/db] as ioredis connection options, and
// rediss:// for TLS (what managed Redis hands out). A message that names a
// Redis shows its URL with the password as ***: error lines end up in logs.
import { isIP } from 'node:net';

export interface RedisConnection {
  host: string;
  port: number;
  db?: number;
  username?: string;
  password?: string;
  /** rediss://: TLS, the certificate checked against Node's CAs (NODE_EXTRA_CA_CERTS adds a private one). */
  tls?: { servername?: string };
}

/** Throws a one-line error saying what a Redis URL looks like; the URL it quotes has no password. */
export function parseRedisUrl(text: string): RedisConnection {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`not a Redis URL: "${redactRedisUrl(text)}"; give one like redis://127.0.0.1:6379`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new Error(`a Redis URL starts with redis:// (or rediss:// for TLS), got "${redactRedisUrl(text)}"`);
  const db = url.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new Error(`the database in a Redis URL is a number (redis://host:6379/0), got "${db}"`);
  const host = url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  return {
    host,
    port: url.port === '' ? 6379 : Number(url.port),
    ...(db === '' ? {} : { db: Number(db) }),
    ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
    ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
    // The name the certificate must carry; an IP address is checked against the certificate's IP entries instead (and may not be sent as a name).
    ...(url.protocol === 'rediss:' ? { tls: isIP(host) === 0 ? { servername: host } : {} } : {}),
  };
}

/**
 * The text with any password in it as ***: `redis://user:***@host:6379`. It
 * works on text that is not a URL at all, too (the one a usage error
 * quotes): whatever stands between the scheme and the last `@` is
 * credentials (a Redis URL has no other `@`, and a password may hold a `/`),
 * and only a user name before a `:` is kept.
 */
export function redactRedisUrl(text: string): string {
  const scheme = /^[a-z][\w+.-]*:\/\//i.exec(text)?.[0] ?? '';
  const rest = text.slice(scheme.length);
  const at = rest.lastIndexOf('@');
  if (at < 0) return text;
  const credentials = rest.slice(0, at);
  const colon = credentials.indexOf(':');
  // No ":" at all: it may be a password given without a user name, so it goes too.
  const shown = colon < 0 ? '***' : `${credentials.slice(0, colon)}:***`;
  return `${scheme}${shown}${rest.slice(at)}`;
}

/** How a message names this Redis: its URL, the password as ***. */
export function redisLabel(connection: RedisConnection): string {
  const { host, port, db, username, password, tls } = connection;
  const credentials = username === undefined && password === undefined ? '' : `${username === undefined ? '' : encodeURIComponent(username)}${password === undefined ? '' : ':***'}@`;
  return `${tls === undefined ? 'redis' : 'rediss'}://${credentials}${isIP(host) === 6 ? `[${host}]` : host}:${port}${db === undefined ? '' : `/${db}`}`;
}
