import { expect } from 'chai';
import sinon from 'sinon';
import { listenFailure, parseServerArgs, serverMain, SERVER_USAGE } from '../../lib/cli/server-cli.js';
import { callMultiMain, parseCallMultiArgs, CALL_MULTI_USAGE } from '../../lib/cli/call-multi-cli.js';
import { summaryLine, plan } from '../../lib/demo/call-multi.js';
import { nginxConfigMain, NGINX_CONFIG_USAGE } from '../../lib/cli/nginx-config-cli.js';
import { readFileSync } from 'node:fs';
import { parseWorkerArgs, workerMain, WORKER_USAGE } from '../../lib/cli/worker-cli.js';
import { parseRedisUrl } from '../../lib/queue/redis-url.js';

const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const io = () => ({ out: sinon.spy(), err: sinon.spy() });

describe('slowlane (bin/server) arguments', () => {
  it('takes every option', () => {
    const command = parseServerArgs(
      ['start', '--port', '0', '--host', '::1', '--pool-size', '3', '--max-children', '4', '--spares', '2', '--max-queue', '5', '--timeout', '1.5', '--grace', '2', '--niceness', '19', '--trust-proxy', '127.0.0.1,::1', '--quiet',
        '--max-memory', '512', '--recycle-memory', '256', '--tasks-per-child', '1000', '--max-child-age', '3600', '--idle-timeout', '2.5', '--max-starts', '3', '--max-loop-delay', '200', '--db', '/tmp/o.sqlite', '--max-result-mb', '8', '--warm-reports'],
      {},
    );
    expect(command).to.deep.equal({
      config: {
        port: 0, host: '::1', poolSize: 3, maxChildren: 4, spares: 2, maxQueue: 5, timeoutMs: 1500, niceness: 19, trustProxy: ['127.0.0.1', '::1'],
        maxMemoryMb: 512, recycleMemoryMb: 256, tasksPerChild: 1000, maxChildAgeMs: 3_600_000, idleTimeoutMs: 2500, maxStartsPerSecond: 3, maxLoopDelayMs: 200, db: '/tmp/o.sqlite', maxResultMb: 8, warmReports: true, queueRedis: undefined, queue: undefined, queuePrefix: undefined,
      },
      graceMs: 2000,
      quiet: true,
    });
  });

  it('defaults: port 8888 on 127.0.0.1, PORT from the environment, 10 s grace', () => {
    const plain = parseServerArgs(['start'], {}) as Exclude<ReturnType<typeof parseServerArgs>, 'help' | 'version'>;
    expect(plain.config).to.include({ port: 8888, host: '127.0.0.1' });
    expect(plain.graceMs).to.equal(10_000);
    expect((parseServerArgs(['start'], { PORT: '9000' }) as typeof plain).config.port).to.equal(9000);
    expect((parseServerArgs(['start', '--port', '1'], { PORT: '9000' }) as typeof plain).config.port).to.equal(1);
  });

  const bad: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [[], {}, /^missing command: use "slowlane start"/],
    [['stop'], {}, /^unknown command "stop"/],
    [['start', '--bogus'], {}, /^Unknown option '--bogus' - see "slowlane --help"$/],
    [['start', '--port', '65536'], {}, /^--port must be a whole number from 0 to 65535, got "65536"$/],
    [['start', '--port', 'abc'], {}, /^--port must be/],
    [['start', '--max-memory', '30'], {}, /^--max-memory must be a whole number from 64 to 1048576, got "30"$/],
    [['start', '--recycle-memory', '63'], {}, /^--recycle-memory must be a whole number from 64 to 1048576, got "63"$/],
    [['start', '--max-child-age', '0.05'], {}, /^--max-child-age must be a number of seconds from 10 to 86400, got "0.05"$/],
    [['start', '--idle-timeout', '0.5'], {}, /^--idle-timeout must be a number of seconds from 1 to 86400, got "0.5"$/],
    [['start', '--max-result-mb', '0'], {}, /^--max-result-mb must be a whole number from 1 to 1048576, got "0"$/],
    [['start', '--tasks-per-child', '0'], {}, /^--tasks-per-child must be a whole number from 1/],
    [['start', '--max-child-age', '0'], {}, /^--max-child-age must be a number of seconds/],
    [['start', '--idle-timeout', 'soon'], {}, /^--idle-timeout must be a number of seconds/],
    [['start', '--db', ''], {}, /^--db takes a file path/],
    [['start', '--max-starts', '0'], {}, /^--max-starts must be a whole number from 1 to 10000, got "0"$/],
    [['start', '--max-loop-delay', '1.5'], {}, /^--max-loop-delay must be a whole number from 1 to 60000/],
    [['start'], { PORT: 'x' }, /^PORT must be a whole number/],
    [['start', '--pool-size', '0'], {}, /^--pool-size must be a whole number from 1/],
    [['start', '--niceness', '20'], {}, /^--niceness must be a whole number from 0 to 19/],
    [['start', '--timeout', '0.0001'], {}, /^--timeout must be a number of seconds from 0.001 to 86400, got "0.0001"$/],
    [['start', '--timeout', '0'], {}, /^--timeout must be a number of seconds from 0.001 to 86400, got "0"$/],
    [['start', '--trust-proxy', 'nginx'], {}, /^--trust-proxy takes IP addresses separated by commas, like 127.0.0.1; got "nginx"$/],
    [['start', '--grace=-1'], {}, /^--grace must be a number of seconds from 0.001 to 86400, got "-1"$/],
  ];
  for (const [argv, env, message] of bad) {
    it(`refuses ${argv.join(' ') || '(nothing)'} ${Object.keys(env).length ? JSON.stringify(env) : ''}`, () => {
      expect(() => parseServerArgs(argv, env)).to.throw(message);
    });
  }

  it('serverMain: --help prints usage and --version the version, exit 0; a usage error is one line and exit 2', async () => {
    const help = io();
    expect(await serverMain(['--help'], help)).to.equal(0);
    expect(help.out.calledOnceWith(SERVER_USAGE)).to.equal(true);
    const version = io();
    expect(await serverMain(['--version'], version)).to.equal(0);
    expect(version.out.calledOnceWith(PACKAGE_VERSION)).to.equal(true);
    const nginxVersion = io();
    expect(nginxConfigMain(['-v'], nginxVersion)).to.equal(0);
    expect(nginxVersion.out.calledOnceWith(PACKAGE_VERSION)).to.equal(true);
    const wrong = io();
    expect(await serverMain(['start', '--port', 'x'], wrong)).to.equal(2);
    expect(wrong.err.calledOnceWith('slowlane: --port must be a whole number from 0 to 65535, got "x"')).to.equal(true);
  });

  it('listen failures say what to do next', () => {
    const error = (code: string) => Object.assign(new Error(code), { code });
    expect(listenFailure(error('EADDRINUSE'), '127.0.0.1', 8888)).to.equal('port 8888 is already in use on 127.0.0.1 - stop the other server or pick another with --port');
    expect(listenFailure(error('EACCES'), '127.0.0.1', 80)).to.match(/use a port above 1023/);
    expect(listenFailure(error('EADDRNOTAVAIL'), '10.9.9.9', 1)).to.match(/try --host 127.0.0.1/);
    expect(listenFailure(error('EOTHER'), 'h', 1)).to.equal('cannot listen on h:1: EOTHER');
  });
});

describe('bin/call-multi arguments and summary', () => {
  it('takes a scenario and options', () => {
    expect(parseCallMultiArgs(['slow_pool', '--url', 'http://127.0.0.1:1', '--slow', '1', '--fast', '2'])).to.deep.equal({
      baseUrl: 'http://127.0.0.1:1', scenario: 'slow_pool', slow: 1, fast: 2,
    });
    expect(parseCallMultiArgs(['slow'])).to.deep.equal({ baseUrl: 'http://localhost:8888', scenario: 'slow', slow: 3, fast: 20 });
    expect(parseCallMultiArgs(['-h'])).to.equal('help');
    expect(parseCallMultiArgs(['--version'])).to.equal('version');
  });

  const bad: [string[], RegExp][] = [
    [[], /^missing scenario: use one of slow, slow_threaded, slow_pool/],
    [['quick'], /^unknown scenario "quick"/],
    [['slow', 'extra'], /^unknown scenario "slow extra"/],
    [['slow', '--url', 'ftp://x'], /^--url must be an http:\/\/ URL/],
    [['slow', '--url', 'not a url'], /^--url must be an http:\/\/ URL/],
    [['slow', '--fast', 'many'], /^--fast must be a whole number/],
    [['slow', '--what'], /^Unknown option '--what'/],
  ];
  for (const [argv, message] of bad) {
    it(`refuses ${argv.join(' ') || '(nothing)'}`, () => {
      expect(() => parseCallMultiArgs(argv)).to.throw(message);
    });
  }

  it('plans slow requests first, then fast, ids from 1', () => {
    expect(plan('http://h:1/', 'slow_threaded', 2, 2).map((p) => p.url)).to.deep.equal([
      'http://h:1/slow_threaded?id=1', 'http://h:1/slow_threaded?id=2', 'http://h:1/fast?id=1', 'http://h:1/fast?id=2',
    ]);
  });

  it('prints the schedule, each body as it arrives, then the summary; exit 0', async () => {
    const out = io();
    const get = sinon.stub().callsFake(async (url: string) => {
      const id = new URL(url).searchParams.get('id');
      if (url.includes('/slow')) {
        await new Promise((resolve) => setTimeout(resolve, 30));
        return { status: 200, body: `slow result ${id} <--- 0.010 s` };
      }
      return { status: 200, body: `fast result ${id}` };
    });
    expect(await callMultiMain(['slow_pool', '--slow', '1', '--fast', '2'], out, get)).to.equal(0);
    const lines = out.out.getCalls().map((call) => call.args[0] as string);
    expect(lines.slice(0, 7)).to.deep.equal([
      'Scheduling Get Requests:', '------------------------',
      'http://localhost:8888/slow_pool?id=1', 'http://localhost:8888/fast?id=1', 'http://localhost:8888/fast?id=2',
      '', 'Start sending requests....',
    ]);
    expect(lines.slice(7, 10)).to.deep.equal(['fast result 1', 'fast result 2', 'slow result 1 <--- 0.010 s']);
    expect(lines.at(-1)).to.match(/^fast: 2 ok, slowest \d+ ms \| slow: 1 ok, last at 0\.\d\d s \| every fast answer before the first slow: yes$/);
  });

  it('exit 1 when a request fails, with the status shown', async () => {
    const out = io();
    const get = sinon.stub().resolves({ status: 503, body: 'server busy' });
    expect(await callMultiMain(['slow', '--slow', '1', '--fast', '1'], out, get)).to.equal(1);
    expect(out.out.calledWith('503 from http://localhost:8888/slow?id=1: server busy')).to.equal(true);
    expect(out.out.lastCall.args[0]).to.match(/^fast: 0 ok, 1 failed, .* slow: 0 ok, 1 failed, .*: no$/);
  });

  it('exit 1 with a hint when nothing listens at the URL', async () => {
    const out = io();
    const get = sinon.stub().rejects(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
    expect(await callMultiMain(['slow'], out, get)).to.equal(1);
    expect(out.err.calledOnceWith('slowlane-call-multi: cannot connect to http://localhost:8888 - is "slowlane start" running?')).to.equal(true);
  });

  it('other network errors are printed per request', async () => {
    const out = io();
    const get = sinon.stub().rejects(new Error('socket hang up'));
    expect(await callMultiMain(['slow', '--slow', '0', '--fast', '1'], out, get)).to.equal(1);
    expect(out.out.calledWith('error from http://localhost:8888/fast?id=1: socket hang up')).to.equal(true);
  });

  it('exit 2 with usage on a bad scenario; --help exits 0', async () => {
    const out = io();
    expect(await callMultiMain(['nope'], out)).to.equal(2);
    expect(out.err.firstCall.args[0]).to.equal('slowlane-call-multi: unknown scenario "nope": use one of slow, slow_threaded, slow_pool');
    expect(out.err.secondCall.args[0]).to.equal(CALL_MULTI_USAGE);
    const help = io();
    expect(await callMultiMain(['--help'], help)).to.equal(0);
  });

  it('the summary says no when a fast answer came after a slow one', () => {
    expect(summaryLine({
      fast: { ok: 1, failed: 0, arrivals: [900], slowestMs: 900 },
      slow: { ok: 1, failed: 0, arrivals: [800] },
      everyFastBeforeFirstSlow: false,
      unreachable: false,
    })).to.equal('fast: 1 ok, slowest 900 ms | slow: 1 ok, last at 0.80 s | every fast answer before the first slow: no');
  });
});

describe('bin/server nginx-config arguments', () => {
  it('--help prints its usage; bin/server routes the command to it', async () => {
    const out = io();
    expect(nginxConfigMain(['--help'], out)).to.equal(0);
    expect(out.out.calledOnceWith(NGINX_CONFIG_USAGE)).to.equal(true);
    const viaServer = io();
    expect(await serverMain(['nginx-config', '-h'], viaServer)).to.equal(0);
    expect(viaServer.out.calledOnceWith(NGINX_CONFIG_USAGE)).to.equal(true);
  });

  const bad: [string[], string][] = [
    [['--fast', 'a:1', '--slow', 'b:2', '--listen', 'eighty'], '--listen takes a port or address:port, like 8080 or 127.0.0.1:8080; got "eighty"'],
    [['--fast', 'a:1', '--slow', 'b:2', '--run-dir', 'rel'], '--run-dir must be an absolute path, got "rel"'],
    [['--fast', 'a:1', '--slow', 'b:2', '--run-dir', '/tmp/x; } http { include /etc/passwd'], '--run-dir may not hold spaces, quotes, ; { } $ # or backslashes, got "/tmp/x; } http { include /etc/passwd"'],
    [['--fast', 'a:1', '--slow', 'b:2', '--run-dir', '/tmp/a"b'], '--run-dir may not hold spaces, quotes, ; { } $ # or backslashes, got "/tmp/a\\"b"'],
    [['--fast', 'a:1', '--slow', 'b:2', '--run-dir', '/tmp/a\nb'], '--run-dir may not hold spaces, quotes, ; { } $ # or backslashes, got "/tmp/a\\nb"'],
    [['--fast', 'a:99999', '--slow', 'b:2'], '--fast takes host:port entries separated by commas, like 127.0.0.1:8001,127.0.0.1:8002; got "a:99999"'],
    [['--nope'], 'Unknown option \'--nope\' - see "slowlane nginx-config --help"'],
  ];
  for (const [argv, message] of bad) {
    it(`refuses ${argv.join(' ')}`, () => {
      const out = io();
      expect(nginxConfigMain(argv, out)).to.equal(2);
      expect(out.err.calledOnceWith(`slowlane nginx-config: ${message}`)).to.equal(true);
    });
  }
});

describe('bin/server worker arguments (and start --queue-redis)', () => {
  it('--help and --version; bin/server routes the command to it', async () => {
    const out = io();
    expect(await workerMain(['--help'], out)).to.equal(0);
    expect(out.out.calledOnceWith(WORKER_USAGE)).to.equal(true);
    const version = io();
    expect(await serverMain(['worker', '-v'], version)).to.equal(0);
    expect(version.out.firstCall.args[0]).to.match(/^\d+\.\d+\.\d+/);
  });

  it('takes the pool\'s limit flags; a relative --tasks is resolved against the working directory', () => {
    const config = parseWorkerArgs(['--redis', 'redis://:secret@10.0.0.5:6380/2', '--queue', 'slow', '--prefix', '{slowlane}', '--tasks', 'lib/tasks.js', '--pool-size', '3', '--timeout', '2.5', '--max-memory', '512', '--tasks-per-child', '100', '--niceness', '5', '--max-result-mb', '4'], '/srv/app');
    expect(config).to.deep.equal({
      connection: { host: '10.0.0.5', port: 6380, db: 2, password: 'secret' },
      queue: 'slow',
      prefix: '{slowlane}',
      pool: { tasks: new URL('file:///srv/app/lib/tasks.js'), maxChildren: 3, minChildren: 3, spares: 0, timeoutMs: 2500, niceness: 5, maxMemoryMb: 512, maxResultBytes: 4 * 1024 * 1024, tasksPerChild: 100 },
      quiet: false,
    });
  });

  const bad: [string[], string][] = [
    [['--queue', 'q', '--tasks', 't.js'], '--redis is required - see "slowlane worker --help"'],
    [['--redis', 'redis://h', '--tasks', 't.js'], '--queue is required - see "slowlane worker --help"'],
    [['--redis', 'redis://h', '--queue', 'q'], '--tasks is required - see "slowlane worker --help"'],
    [['--redis', 'http://h', '--queue', 'q', '--tasks', 't.js'], '--redis: a Redis URL starts with redis:// (rediss:// for TLS, redis+sentinel:// for Sentinel), got "http://h"'],
    [['--redis', 'redis+sentinel://:pw@s1:26379', '--queue', 'q', '--tasks', 't.js'], '--redis: a Sentinel URL ends with the primary\'s name (and a database number): "redis+sentinel://:***@s1:26379"; give one like redis+sentinel://:PASSWORD@sentinel-1:26379,sentinel-2:26379/mymaster'],
    [['--redis', 'redis://h', '--queue', 'q', '--tasks', 't.js', '--prefix', 'a b'], '--prefix takes letters, digits, ".", ":", "_", "-" and braces (up to 100), e.g. {slowlane} for a Redis Cluster, got "a b"'],
    [['--redis', 'redis://h/x', '--queue', 'q', '--tasks', 't.js'], '--redis: the database in a Redis URL is a number (redis://host:6379/0), got "x"'],
    [['--redis', 'redis://h', '--queue', 'a b', '--tasks', 't.js'], '--queue takes letters, digits, ".", "_" and "-" (up to 100), got "a b"'],
    [['--redis', 'redis://h', '--queue', 'q', '--tasks', 't.js', '--pool-size', '0'], '--pool-size must be a whole number from 1 to 256, got "0"'],
  ];
  for (const [argv, message] of bad) {
    it(`refuses ${argv.join(' ')}`, async () => {
      const out = io();
      expect(await workerMain(argv, out)).to.equal(2);
      expect(out.err.calledOnceWith(`slowlane worker: ${message}`)).to.equal(true);
    });
  }

  it('start: --queue-redis takes a Redis URL, --queue and --queue-prefix only with it', () => {
    const command = parseServerArgs(['start', '--queue-redis', 'redis://127.0.0.1:6379', '--queue', 'jobs', '--queue-prefix', '{slowlane}'], {});
    expect(command).to.not.be.oneOf(['help', 'version']);
    expect((command as { config: { queueRedis?: string; queue?: string } }).config).to.include({ queueRedis: 'redis://127.0.0.1:6379', queue: 'jobs', queuePrefix: '{slowlane}' });
    expect(() => parseServerArgs(['start', '--queue', 'jobs'], {})).to.throw('--queue names the queue of --queue-redis; give --queue-redis URL too');
    expect(() => parseServerArgs(['start', '--queue-prefix', '{x}'], {})).to.throw('--queue-prefix goes with --queue-redis; give --queue-redis URL too');
    expect(() => parseServerArgs(['start', '--queue-redis', 'nope'], {})).to.throw('--queue-redis: not a Redis URL: "nope"; give one like redis://127.0.0.1:6379');
    expect(parseRedisUrl('redis://[::1]')).to.deep.equal({ host: '::1', port: 6379 });
  });
});
