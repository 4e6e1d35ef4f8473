import { expect } from 'chai';
import { Backoff } from '../../lib/pool/schedule/policy/backoff.js';
import { TaskQueue } from '../../lib/pool/schedule/task-queue.js';
import { serializeError } from '../../lib/pool/wire/serialized-error.js';
import { toModuleUrl } from '../../lib/pool/pool-options.js';
import { isChildMessage, marked } from '../../lib/pool/wire/protocol.js';
import { parseWrk } from '../../bench/wrk.js';
import { factorial, heavyLifting } from '../../lib/demo/heavy-lifting.js';
import { accessLogLine, forLog, forwardedClient } from '../../lib/demo/access-log.js';
import { originForm } from '../../lib/demo/server.js';
import { withoutPaths } from '../../lib/http/failure-response.js';
import { loadSqlite } from '../../lib/demo/orders/sqlite.js';

describe('small parts', () => {
  it('Backoff doubles from its initial delay up to its cap, and resets', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 500 });
    expect([1, 2, 3, 4, 5].map(() => backoff.fail())).to.deep.equal([100, 200, 400, 500, 500]);
    backoff.reset();
    expect(backoff.fail()).to.equal(100);
    expect(backoff.failures).to.equal(1);
  });

  it('loadSqlite says what to run: install when better-sqlite3 is missing, rebuild when it was built for another Node', () => {
    const failing = (code: string, message: string) => () => {
      throw Object.assign(new Error(message), { code });
    };
    const missing = loadSqlite(failing('MODULE_NOT_FOUND', "Cannot find module 'better-sqlite3'"));
    expect(missing).to.be.instanceOf(Error).with.property('message', 'better-sqlite3 is not installed (MODULE_NOT_FOUND): run "npm install better-sqlite3@12" to enable the report routes');
    const otherNode = loadSqlite(failing('ERR_DLOPEN_FAILED', 'The module \'/x/better_sqlite3.node\'\nwas compiled against a different Node.js version using\nNODE_MODULE_VERSION 115. This version of Node.js requires\nNODE_MODULE_VERSION 127.'));
    expect(otherNode).to.be.instanceOf(Error).with.property('message', `better-sqlite3 was built for another Node version than this one (${process.version}): run "npm rebuild better-sqlite3" to enable the report routes`);
    // The native part loads on the first open: a failure there counts as the same failure.
    const openFails = class {
      constructor() {
        failing('ERR_DLOPEN_FAILED', 'was compiled against a different Node.js version using\nNODE_MODULE_VERSION 115.')();
      }
    };
    expect(loadSqlite(() => openFails)).to.be.instanceOf(Error).with.property('message').that.matches(/^better-sqlite3 was built for another Node version/);
    const opened: string[] = [];
    const Sqlite = class {
      constructor(path: string) {
        opened.push(path);
      }
      close(): void {
        opened.push('closed');
      }
    };
    expect(loadSqlite(() => Sqlite)).to.equal(Sqlite);
    expect(opened).to.deep.equal([':memory:', 'closed']);
  });

  it('TaskQueue.pushFront puts a handed-back item first', () => {
    const queue = new TaskQueue<string>();
    queue.push('a');
    queue.push('b');
    queue.pushFront('z');
    expect(queue.drain()).to.deep.equal(['z', 'a', 'b']);
  });

  it('forLog escapes control characters and caps what it prints; accessLogLine uses it', () => {
    expect(forLog('/a\nb\x1b[31m\u2028')).to.equal('/a\\x0ab\\x1b[31m\\x2028');
    expect(forLog('TaskError: \u009b2J\u202eevil')).to.equal('TaskError: \\x9b2J\\x202eevil');
    expect(forLog('x'.repeat(20), 5)).to.equal('xxxxx...(15 more)');
    expect(accessLogLine(200, 'GET', '/f\r\n200 GET /admin', '1.2.3.4', 1.234)).to.equal('200 GET /f\\x0d\\x0a200 GET /admin (1.2.3.4) 1.23ms');
    expect(accessLogLine(500, 'GET', '/s', '::1', 2, 'Error: why\nsecond line')).to.equal('500 GET /s (::1) 2.00ms Error: why\\x0asecond line');
  });

  it('forwardedClient takes the last X-Forwarded-For entry only when it is an IP address', () => {
    expect(forwardedClient('1.1.1.1, 2.2.2.2')).to.equal('2.2.2.2');
    expect(forwardedClient(['1.1.1.1', '::ffff:9.9.9.9'])).to.equal('9.9.9.9');
    expect(forwardedClient('not-an-ip) 0.01ms FAKE 200 GET /admin (9.9.9.9')).to.equal(undefined);
    expect(forwardedClient(undefined)).to.equal(undefined);
  });

  it('originForm takes origin-form and absolute-form targets, and refuses others', () => {
    expect(originForm('/fast?id=1')).to.equal('/fast?id=1');
    expect(originForm('http://host:8/fast?id=1')).to.equal('/fast?id=1');
    expect(originForm('HTTPS://host')).to.equal('/');
    expect(originForm('http://host?x=1')).to.equal('/?x=1');
    expect(() => originForm('*')).to.throw(/bad request target/);
  });

  it('withoutPaths hides absolute paths and file URLs, and leaves URLs and ratios alone', () => {
    expect(withoutPaths("ENOENT: open '/srv/app/secret.json'")).to.equal("ENOENT: open '<path>'");
    expect(withoutPaths('cannot load file:///srv/x.js now')).to.equal('cannot load <path> now');
    expect(withoutPaths('see http://example.com/a/b, 1/2 done, a/b/c')).to.equal('see http://example.com/a/b, 1/2 done, a/b/c');
  });

  it('TaskQueue is a FIFO with removal from the middle', () => {
    const queue = new TaskQueue<string>();
    queue.push('a');
    queue.push('b');
    queue.push('c');
    expect(queue.size).to.equal(3);
    expect(queue.remove('b')).to.equal(true);
    expect(queue.peek()).to.equal('a');
    expect(queue.drain()).to.deep.equal(['a', 'c']);
    expect(queue.size).to.equal(0);
  });

  it('serializeError keeps name, message, stack and cloneable own properties', () => {
    const error = Object.assign(new TypeError('bad'), { code: 'E_BAD', when: new Date(0), fn: () => {} });
    const out = serializeError(error);
    expect(out).to.include({ name: 'TypeError', message: 'bad' });
    expect(out.stack).to.match(/^TypeError: bad/);
    expect(out.props).to.deep.equal({ code: 'E_BAD', when: new Date(0) });
    expect(serializeError('a string').message).to.equal('task threw a non-Error value: a string');
  });

  it('toModuleUrl takes paths and file URLs', () => {
    expect(toModuleUrl('/a/b.js')).to.equal('file:///a/b.js');
    expect(toModuleUrl('file:///a/b.js')).to.equal('file:///a/b.js');
    expect(toModuleUrl(new URL('file:///c.js'))).to.equal('file:///c.js');
    expect(toModuleUrl('rel.js')).to.equal(`file://${process.cwd()}/rel.js`);
  });

  it('isChildMessage accepts only marked objects with a type: a task\'s own process.send() is not the protocol', () => {
    expect(isChildMessage(marked({ type: 'ready' }))).to.equal(true);
    expect(isChildMessage({ type: 'ready' }), 'a pm2-style ready from a library').to.equal(false);
    expect(isChildMessage(null)).to.equal(false);
    expect(isChildMessage('ready')).to.equal(false);
  });

  it('parseWrk reads requests, req/s and p99 in wrk\'s own units', () => {
    const output = ['Running 5s test @ http://127.0.0.1:1/fast?id=1', '  Latency Distribution', '     50%  386.00us', '     99%    1.25ms', '  102716 requests in 5.00s, 14.99MB read', 'Requests/sec:  20541.31'].join('\n');
    expect(parseWrk(output)).to.deep.equal({ requests: 102716, rps: 20541.31, p99: 1.25 });
    expect(parseWrk(output.replace('1.25ms', '900.50us')).p99).to.equal(0.9005);
    expect(() => parseWrk('unable to connect')).to.throw(/cannot read wrk's output/);
  });

  it('heavyLifting computes factorials and reports seconds', () => {
    expect(factorial(0)).to.equal(1n);
    expect(factorial(5)).to.equal(120n);
    expect(factorial(20)).to.equal(2432902008176640000n);
    const seconds = heavyLifting(50);
    expect(seconds).to.be.a('number').and.be.at.least(0).and.below(5);
  });
});
