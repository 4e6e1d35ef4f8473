// The server's side of the spawner: one small helper process per server,
// started by the first pool that asks while the server is still small, which
// starts every child after that (see spawner-entry.ts for why). Children
// connect back to a Unix socket of this process and talk to it directly, so a
// round trip costs what it does over fork()'s channel.
//
// The socket is abstract (Linux): it has a name but no file, so it needs no
// temp folder (missing, read-only or too long for a socket path in many
// containers and sandboxes) and leaves nothing behind however this process
// dies. Anyone on the machine can see the name; only a child holding the
// secret the spawner wrote to its fd 3 gets past the first frame.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { SPAWNER_DEFAULTS } from '../../../defaults.js';
import { copyOutput, type ChildLike, type ForkFn } from '../fork.js';
import type { Launcher } from '../../os/parent-death.js';
import { AnswerWatch } from './answer-watch.js';
import { CHANNEL_ENV } from '../../in-child/channel.js';
import { FrameReader } from '../../wire/frames.js';
import { RemoteChild } from './remote-child.js';
import type { SpawnerReport, SpawnerRequest } from './spawner-protocol.js';

const ENTRY = new URL('./spawner-entry.js', import.meta.url).pathname;

export interface SpawnerStats {
  /** Spawner processes started so far: more than one means one died and was replaced. */
  started: number;
  /** The one running now, if any. */
  pid: number | undefined;
  /** Children are forked directly: the socket could not listen, or spawners kept failing. */
  direct: boolean;
}

export interface SpawnerOptions {
  launcher: Launcher | undefined;
  /** How a child starts when the spawner cannot be used: the pool's own fork(). */
  directFork: ForkFn;
  limits?: Partial<typeof SPAWNER_DEFAULTS>;
  /** Where the spawner's one-line notices go. */
  log?: (line: string) => void;
}

export class Spawner {
  readonly #launcher: Launcher | undefined;
  readonly #directFork: ForkFn;
  readonly #limits: typeof SPAWNER_DEFAULTS;
  readonly #log: (line: string) => void;
  readonly #secret = randomBytes(16).toString('hex');
  /** The socket's name as a child's environment carries it: `@` for the NUL byte an abstract name starts with. */
  readonly #name = `@slowlane-${process.pid}-${randomBytes(8).toString('hex')}`;
  readonly #server: Server;
  readonly #children = new Map<number, RemoteChild>();
  /** Answers the spawner owes (a start, or the exit of a child sent SIGKILL). */
  readonly #watch: AnswerWatch;
  #process: ChildProcess | undefined;
  #nextId = 0;
  #started = 0;
  /** Spawners lost in a row since a child last connected through one. */
  #failures = 0;
  #direct = false;
  #held = false;
  /** Spawner processes let go by retire(): their exit is no failure and takes no child. */
  readonly #retired = new WeakSet<ChildProcess>();

  constructor(options: SpawnerOptions) {
    this.#launcher = options.launcher;
    this.#directFork = options.directFork;
    this.#limits = { ...SPAWNER_DEFAULTS, ...options.limits };
    this.#log = options.log ?? ((line) => void process.stderr.write(`${line}\n`));
    this.#watch = new AnswerWatch(this.#limits.answerTimeoutMs, {
      ping: () => {
        if (!this.#process?.connected) return false;
        this.#process.send({ type: 'ping' } satisfies SpawnerRequest);
        return true;
      },
      hung: () => this.#hung(),
    });
    this.#server = createServer((socket) => this.#hello(socket));
    this.#server.on('error', (error) => this.#goDirect(`its socket failed (${error.message})`));
    // A pipe server binds and listens synchronously: whether it can is known now.
    this.#server.listen(`\0${this.#name.slice(1)}`);
    this.#server.unref();
    if (!this.#server.listening) this.#goDirect('it cannot listen on an abstract socket here');
  }

  stats(): SpawnerStats {
    return { started: this.#started, pid: this.#process?.pid, direct: this.#direct };
  }

  /** A ForkFn: the child is started by the spawner and reached through the socket; or forked directly once the spawner cannot be used. */
  readonly fork: ForkFn = (modulePath, args, options): ChildLike => {
    if (this.#direct) return this.#directFork(modulePath, args, options);
    const id = (this.#nextId += 1);
    const child = new RemoteChild(id, {
      onHold: () => this.#updateHold(),
      killFor: (target, signal) => this.#killFor(target, signal),
      killed: (target, signal) => signal === 'SIGKILL' && this.#watch.owe(target.id),
    });
    this.#children.set(id, child);
    const request: SpawnerRequest = {
      type: 'start', id,
      file: options.execPath ?? process.execPath,
      args: [...(options.execArgv ?? []), modulePath, ...args],
      env: { ...(options.env ?? process.env), [CHANNEL_ENV]: this.#name },
      cwd: process.cwd(),
      uid: process.getuid?.(),
      gid: process.getgid?.(),
      token: `${id}:${this.#secret}`,
    };
    const spawner = this.#ensure();
    if (!spawner.connected) queueMicrotask(() => this.#children.get(id)?.lost());
    else {
      spawner.send(request);
      this.#watch.owe(id);
    }
    this.#updateHold();
    return child;
  };

  #ensure(): ChildProcess {
    if (this.#process !== undefined && this.#process.connected) return this.#process;
    const launcher = this.#launcher;
    // Plain node, none of the server's flags (a loader, a heap size): it starts children, nothing else.
    const spawner = fork(ENTRY, [], {
      ...(launcher === undefined ? { execArgv: [] } : { execPath: launcher.execPath, execArgv: [...launcher.args] }),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // A group of its own: a terminal's Ctrl-C goes to the server, which
      // drains, and must not end the process its children's exits come from.
      detached: true,
    });
    this.#started += 1;
    this.#process = spawner;
    copyOutput(spawner.stdout, process.stdout);
    copyOutput(spawner.stderr, process.stderr);
    spawner.on('message', (report: SpawnerReport) => this.#report(report));
    spawner.on('error', () => {});
    spawner.once('exit', () => this.#spawnerDied(spawner));
    this.#held = true;
    this.#updateHold();
    return spawner;
  }

  #report(report: SpawnerReport): void {
    if (report.type === 'pong') {
      this.#watch.pong();
      return;
    }
    const child = this.#children.get(report.id);
    if (child === undefined) return;
    this.#watch.paid(report.id);
    if (report.type === 'spawned') child.spawned(report.pid);
    else if (report.type === 'failed') {
      this.#children.delete(report.id);
      child.failed(report.code, report.message);
    } else {
      this.#children.delete(report.id);
      child.exited(report.code, report.signal);
    }
  }

  /** The server may not signal the child (it dropped privileges after the child started); the spawner may. A SIGKILL's exit is owed. */
  #killFor(child: RemoteChild, signal: NodeJS.Signals | number): void {
    const request: SpawnerRequest = { type: 'kill', id: child.id, signal };
    if (this.#process?.connected) this.#process.send(request);
  }

  /** A spawner that does not answer a ping is stopped (SIGSTOP, a frozen cgroup) or wedged: it goes, and its children with it. */
  #hung(): void {
    const spawner = this.#process;
    if (spawner?.pid === undefined) return;
    this.#log(`slowlane: the spawner (pid ${spawner.pid}) answered nothing for ${2 * this.#limits.answerTimeoutMs} ms: killed, the next child gets a new one`);
    try {
      spawner.kill('SIGKILL');
    } catch {
      // Gone already: its exit is on the way.
    }
  }

  /** The spawner died: its children go too (their runs fail as crashed, never hang; starts are retried); the next start gets a new spawner. */
  #spawnerDied(spawner: ChildProcess): void {
    if (this.#retired.has(spawner)) return;
    if (this.#process === spawner) this.#process = undefined;
    this.#watch.clear();
    this.#failures += 1;
    if (this.#failures >= this.#limits.maxFailures) this.#goDirect(`${this.#failures} spawners in a row died before a child connected`);
    for (const [id, child] of this.#children) {
      this.#children.delete(id);
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
      child.lost();
    }
  }

  /** From now on children are forked directly: slower to start for a big server, but they start. */
  #goDirect(why: string): void {
    if (this.#direct) return;
    this.#direct = true;
    this.#log(`slowlane: children are forked directly from now on: the spawner cannot be used (${why})`);
    this.#server.close();
  }

  /** The first frame on a new connection names the child: `id:secret`, read within a few bytes and seconds. */
  #hello(socket: Socket): void {
    const reader = new FrameReader(this.#limits.helloMaxBytes);
    const timer = setTimeout(() => socket.destroy(), this.#limits.helloTimeoutMs);
    timer.unref();
    socket.on('error', () => {});
    const onData = (chunk: Buffer): void => {
      let hello: unknown;
      try {
        [hello] = reader.push(chunk, 1);
      } catch {
        socket.destroy(); // announced more than a hello: a stranger
        return;
      }
      if (hello === undefined) return;
      socket.off('data', onData);
      clearTimeout(timer);
      const text = (hello as { hello?: unknown } | null)?.hello;
      const [id, secret] = typeof text === 'string' ? text.split(':') : [];
      const child = this.#children.get(Number(id));
      // A second hello for a connected child is someone who read its secret too late.
      if (secret !== this.#secret || child === undefined || child.attached) {
        socket.destroy();
        return;
      }
      this.#failures = 0;
      child.attach(socket, reader.handOver());
    };
    socket.on('data', onData);
  }

  /**
   * No pool needs the spawner now (the last one closed): its process leaves,
   * and the next start makes a new one. Not while it still owes a child's exit.
   */
  retire(): void {
    const spawner = this.#process;
    if (spawner === undefined || this.#children.size > 0) return;
    this.#process = undefined;
    this.#retired.add(spawner);
    this.#watch.clear();
    // Its IPC channel closing is how it learns the server is done with it (spawner-entry.ts).
    if (spawner.connected) spawner.disconnect();
  }

  /** The spawner keeps this process alive only while a held child depends on it (starting, or reporting its exit). */
  #updateHold(): void {
    const hold = [...this.#children.values()].some((child) => child.held);
    if (hold === this.#held || this.#process === undefined) return;
    this.#held = hold;
    const handles = [this.#process, this.#process.channel, this.#process.stdout, this.#process.stderr] as ({ ref?: () => void; unref?: () => void } | null | undefined)[];
    for (const handle of handles) {
      if (hold) handle?.ref?.();
      else handle?.unref?.();
    }
  }
}

let shared: Spawner | undefined;

/** The server's spawner, if a pool made it. */
export const currentSpawner = (): Spawner | undefined => shared;

/** The server's one spawner, made at the first call. */
export function sharedSpawner(launcher: Launcher | undefined, directFork: ForkFn): Spawner {
  shared ??= new Spawner({ launcher, directFork });
  return shared;
}
