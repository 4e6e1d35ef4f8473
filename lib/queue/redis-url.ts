// redis://[user:password@]host[:port][/db] as ioredis connection options,
// rediss:// for TLS (what managed Redis hands out), and
// redis+sentinel://[user:password@]host:port[,host:port...]/master[/db] for a
// primary found through Sentinel (ioredis' `sentinels` and `name`). A message
// that names a Redis shows its URL with the password as ***: error lines end
// up in logs.
import { isIP } from 'node:net';

/** One Redis server: what redis:// and rediss:// give. */
export interface RedisServerConnection {
  host: string;
  port: number;
  db?: number;
  username?: string;
  password?: string;
  /** rediss://: TLS, the certificate checked against Node's CAs (NODE_EXTRA_CA_CERTS adds a private one). */
  tls?: { servername?: string };
}

/** A primary found through Sentinel: what redis+sentinel:// gives. The user and password are the primary's; the sentinels are asked without one. */
export interface SentinelConnection {
  sentinels: { host: string; port: number }[];
  /** The primary's name, as the sentinels know it (`sentinel monitor NAME ...`). */
  name: string;
  db?: number;
  username?: string;
  password?: string;
}

export type RedisConnection = RedisServerConnection | SentinelConnection;

/** Sentinel's own port, when a sentinel in the URL names none. */
const SENTINEL_PORT = 26379;

/** Throws a one-line error saying what a Redis URL looks like; the URL it quotes has no password. */
export function parseRedisUrl(text: string): RedisConnection {
  if (/^redis\+sentinel:\/\//i.test(text)) return parseSentinelUrl(text);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`not a Redis URL: "${redactRedisUrl(text)}"; give one like redis://127.0.0.1:6379`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new Error(`a Redis URL starts with redis:// (rediss:// for TLS, redis+sentinel:// for Sentinel), got "${redactRedisUrl(text)}"`);
  const db = url.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new Error(`the database in a Redis URL is a number (redis://host:6379/0), got "${db}"`);
  const host = url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  return {
    host,
    port: url.port === '' ? 6379 : Number(url.port),
    ...(db === '' ? {} : { db: Number(db) }),
    ...(url.username === '' ? {} : { username: unescape(url.username) }),
    ...(url.password === '' ? {} : { password: unescape(url.password) }),
    // The name the certificate must carry; an IP address is checked against the certificate's IP entries instead (and may not be sent as a name).
    ...(url.protocol === 'rediss:' ? { tls: isIP(host) === 0 ? { servername: host } : {} } : {}),
  };
}

/** A %XX-escaped part of the URL; one with a stray "%" is refused without quoting it (it may be the password). */
function unescape(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new Error('a "%" in a Redis URL starts a %XX escape (write "%" itself as %25)');
  }
}

/**
 * redis+sentinel://[user:password@]host[:port][,host[:port]...]/master[/db].
 * Parsed by hand: WHATWG URL takes one host only.
 */
function parseSentinelUrl(text: string): SentinelConnection {
  const shown = redactRedisUrl(text);
  const rest = text.slice('redis+sentinel://'.length);
  const slash = rest.indexOf('/', rest.lastIndexOf('@') + 1);
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const [name = '', db = '', ...more] = (slash < 0 ? '' : rest.slice(slash + 1)).split('/');
  const at = authority.lastIndexOf('@');
  const credentials = at < 0 ? '' : authority.slice(0, at);
  const colon = credentials.indexOf(':');
  const username = colon < 0 ? credentials : credentials.slice(0, colon);
  const password = colon < 0 ? '' : credentials.slice(colon + 1);
  const usage = `; give one like redis+sentinel://:PASSWORD@sentinel-1:26379,sentinel-2:26379/mymaster`;
  if (name === '' || more.length > 0 || /[?#]/.test(name + db)) throw new Error(`a Sentinel URL ends with the primary's name (and a database number): "${shown}"${usage}`);
  if (db !== '' && !/^\d+$/.test(db)) throw new Error(`the database in a Redis URL is a number (redis://host:6379/0), got "${db}"`);
  const sentinels = authority.slice(at + 1).split(',').map((hostPort) => {
    const match = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(hostPort);
    const port = match?.[2] === undefined ? SENTINEL_PORT : Number(match[2]);
    if (match === null || port < 1 || port > 65535) throw new Error(`not a sentinel host:port in "${shown}": "${hostPort}"${usage}`);
    return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
  });
  return {
    sentinels,
    name: unescape(name),
    ...(db === '' ? {} : { db: Number(db) }),
    ...(username === '' ? {} : { username: unescape(username) }),
    ...(password === '' ? {} : { password: unescape(password) }),
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
  const { db, username, password } = connection;
  const credentials = username === undefined && password === undefined ? '' : `${username === undefined ? '' : encodeURIComponent(username)}${password === undefined ? '' : ':***'}@`;
  const hostPort = ({ host, port }: { host: string; port: number }): string => `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
  if ('sentinels' in connection) return `redis+sentinel://${credentials}${connection.sentinels.map(hostPort).join(',')}/${encodeURIComponent(connection.name)}${db === undefined ? '' : `/${db}`}`;
  return `${connection.tls === undefined ? 'redis' : 'rediss'}://${credentials}${hostPort(connection)}${db === undefined ? '' : `/${db}`}`;
}
