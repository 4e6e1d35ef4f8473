// Redis URLs: redis:// and rediss:// as ioredis options, and every way a
// message may show one without its password.
import { expect } from 'chai';
import { redisProblem } from '../../lib/queue/redis-check.js';
import { parseRedisUrl, redactRedisUrl, redisLabel } from '../../lib/queue/redis-url.js';

describe('Redis URLs', () => {
  it('rediss:// is TLS: the host name is the certificate\'s server name; an IP address is checked against the certificate\'s IP entries', () => {
    expect(parseRedisUrl('rediss://default:p%40ss@cache.example.com:6380/1')).to.deep.equal({ host: 'cache.example.com', port: 6380, db: 1, username: 'default', password: 'p@ss', tls: { servername: 'cache.example.com' } });
    expect(parseRedisUrl('rediss://10.1.2.3')).to.deep.equal({ host: '10.1.2.3', port: 6379, tls: {} });
    expect(parseRedisUrl('redis://:pw@h')).to.deep.equal({ host: 'h', port: 6379, password: 'pw' });
  });

  it('redis+sentinel:// names the sentinels (port 26379 unless given) and the primary; the password is the primary\'s', () => {
    expect(parseRedisUrl('redis+sentinel://app:p%40ss@s1:26380,[::1],10.0.0.3/mymaster/2')).to.deep.equal({
      sentinels: [{ host: 's1', port: 26380 }, { host: '::1', port: 26379 }, { host: '10.0.0.3', port: 26379 }], name: 'mymaster', db: 2, username: 'app', password: 'p@ss',
    });
    expect(parseRedisUrl('redis+sentinel://s1/m')).to.deep.equal({ sentinels: [{ host: 's1', port: 26379 }], name: 'm' });
    expect(redisLabel(parseRedisUrl('redis+sentinel://app:pw@s1:26380,[::1]/mymaster/2'))).to.equal('redis+sentinel://app:***@s1:26380,[::1]:26379/mymaster/2');
    expect(redactRedisUrl('redis+sentinel://:pw@s1,s2/m')).to.equal('redis+sentinel://:***@s1,s2/m');
  });

  it('no parse error quotes a password', () => {
    const cases: Array<[string, string]> = [
      ['redis://admin:s3cret@host:99999', 'not a Redis URL: "redis://admin:***@host:99999"; give one like redis://127.0.0.1:6379'],
      ['http://admin:s3cret@host', 'a Redis URL starts with redis:// (rediss:// for TLS, redis+sentinel:// for Sentinel), got "http://admin:***@host"'],
      ['redis://:s3cret%zz@host', 'a "%" in a Redis URL starts a %XX escape (write "%" itself as %25)'],
      ['redis+sentinel://:s3cret@s1:26379', 'a Sentinel URL ends with the primary\'s name (and a database number): "redis+sentinel://:***@s1:26379"'],
      ['redis+sentinel://:s3cret@s1:26379,s2:0/m', 'not a sentinel host:port in "redis+sentinel://:***@s1:26379,s2:0/m": "s2:0"'],
      ['redis+sentinel://:s3cret@/m', 'not a sentinel host:port in "redis+sentinel://:***@/m": ""'],
      ['redis+sentinel://s1/m/x', 'the database in a Redis URL is a number (redis://host:6379/0), got "x"'],
      ['redis://:s3/cr@t@host:1x', 'not a Redis URL: "redis://:***@host:1x"; give one like redis://127.0.0.1:6379'],
      ['s3cret@host', 'not a Redis URL: "***@host"; give one like redis://127.0.0.1:6379'],
    ];
    for (const [url, message] of cases) {
      expect(() => parseRedisUrl(url), url).to.throw(message);
    }
  });

  it('redactRedisUrl keeps the user name, hides the password, leaves a URL without one as it is', () => {
    expect(redactRedisUrl('redis://user:pa:ss@host:6379/0')).to.equal('redis://user:***@host:6379/0');
    expect(redactRedisUrl('rediss://:pw@host')).to.equal('rediss://:***@host');
    expect(redactRedisUrl('redis://lonely@host')).to.equal('redis://***@host');
    expect(redactRedisUrl('redis://host:6379')).to.equal('redis://host:6379');
    expect(redactRedisUrl('nope')).to.equal('nope');
  });

  it('redisLabel names a connection as a URL with the password as ***', () => {
    expect(redisLabel(parseRedisUrl('rediss://default:pw@cache.example.com:6380/2'))).to.equal('rediss://default:***@cache.example.com:6380/2');
    expect(redisLabel(parseRedisUrl('redis://[::1]:7000'))).to.equal('redis://[::1]:7000');
    expect(redisLabel(parseRedisUrl('redis://:pw@127.0.0.1'))).to.equal('redis://:***@127.0.0.1:6379');
  });

  it('redisProblem names what waiting will not fix, and nothing else', () => {
    expect(redisProblem(new Error('WRONGPASS invalid username-password pair or user is disabled.'))).to.equal('refused the password (WRONGPASS invalid username-password pair or user is disabled.)');
    expect(redisProblem(new Error('NOAUTH Authentication required.'))).to.match(/^asks for a password \(NOAUTH/);
    expect(redisProblem(Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }))).to.match(/^TLS: self-signed certificate \(a private CA: .*NODE_EXTRA_CA_CERTS/);
    expect(redisProblem(Object.assign(new Error("Hostname/IP does not match certificate's altnames"), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }))).to.equal("TLS: Hostname/IP does not match certificate's altnames");
    expect(redisProblem(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }))).to.equal(undefined);
    expect(redisProblem(undefined)).to.equal(undefined);
  });
});
