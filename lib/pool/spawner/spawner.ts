// The server's side of the spawner: one small helper process per server,
// started by the first pool that asks while the server is still small, which
// starts every child after that (see spawner-entry.ts for why). Children
// connect back to a Unix socket in a private folder of this process and talk
// to it directly, so a round trip costs what it does over fork()'s channel.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyOutput, type ChildLike, type ForkFn } from '../child-process.js';
import type { Launcher } from '../parent-death.js';
import { CHANNEL_ENV } from './child-channel.js';
import { FrameReader } from './frames.js';
import { RemoteChild } from './remote-child.js';
import type { SpawnerReport, SpawnerRequest } from './spawner-protocol.js';

const ENTRY = new URL('./spawner-entry.js', import.meta.url).pathname;

export interface SpawnerStats {
  /** Spawner processes started so far: more than one means one died and was replaced. */
  started: number;
  /** The one running now, if any. */
  pid: number | undefined;
}

export class Spawner {
  readonly #launcher: Launcher | undefined;
  readonly #secret = randomBytes(16).toString('hex');
  readonly #dir: string;
  readonly #path: string;
  readonly #server: Server;
  readonly #children = new Map<number, RemoteChild>();
  #process: ChildProcess | undefined;
  #nextId = 0;
  #started = 0;
  #held = false;

  constructor(launcher: Launcher | undefined) {
    this.#launcher = launcher;
    // A folder only this user can enter: the socket's path is not guessable, and the token proves the rest.
    this.#dir = mkdtempSync(join(tmpdir(), 'slowlane-'));
    this.#path = join(this.#dir, 'children.sock');
    this.#server = createServer((socket) => this.#hello(socket));
    this.#server.listen(this.#path);
    this.#server.unref();
    process.once('exit', () => rmSync(this.#dir, { recursive: true, force: true }));
    this.#ensure();
  }

  stats(): SpawnerStats {
    return { started: this.#started, pid: this.#process?.pid };
  }

  /** A ForkFn: the child is started by the spawner and reached through the socket. */
  readonly fork: ForkFn = (modulePath, args, options): ChildLike => {
    const id = (this.#nextId += 1);
    const child = new RemoteChild(id, () => this.#updateHold());
    this.#children.set(id, child);
    const request: SpawnerRequest = {
      type: 'start', id,
      file: options.execPath ?? process.execPath,
      args: [...(options.execArgv ?? []), modulePath, ...args],
      env: { ...(options.env ?? process.env), [CHANNEL_ENV.path]: this.#path, [CHANNEL_ENV.token]: `${id}:${this.#secret}` },
    };
    const spawner = this.#ensure();
    if (!spawner.connected) queueMicrotask(() => this.#failed(id, 'EAGAIN', 'the spawner is not running'));
    else spawner.send(request);
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
    const child = this.#children.get(report.id);
    if (child === undefined) return;
    if (report.type === 'spawned') child.spawned(report.pid);
    else if (report.type === 'failed') this.#failed(report.id, report.code, report.message);
    else {
      this.#children.delete(report.id);
      child.exited(report.code, report.signal);
    }
  }

  #failed(id: number, code: string, message: string): void {
    const child = this.#children.get(id);
    if (child === undefined) return;
    this.#children.delete(id);
    child.failed(code, message);
  }

  /** The spawner died: its children go too (their runs fail as crashed, never hang); the next start gets a new spawner. */
  #spawnerDied(spawner: ChildProcess): void {
    if (this.#process === spawner) this.#process = undefined;
    for (const [id, child] of this.#children) {
      if (child.pid === undefined) {
        this.#failed(id, 'EAGAIN', 'the spawner died before starting it');
        continue;
      }
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
      this.#children.delete(id);
      child.exited(null, 'SIGKILL');
    }
  }

  /** The first frame on a new connection names the child: `id:secret`. */
  #hello(socket: Socket): void {
    const reader = new FrameReader();
    const timer = setTimeout(() => socket.destroy(), 10_000);
    timer.unref();
    const onData = (chunk: Buffer): void => {
      let messages: unknown[];
      try {
        messages = reader.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      if (messages.length === 0) return;
      socket.off('data', onData);
      clearTimeout(timer);
      const [hello, ...early] = messages as [{ hello?: unknown }, ...unknown[]];
      const [id, secret] = typeof hello?.hello === 'string' ? hello.hello.split(':') : [];
      const child = this.#children.get(Number(id));
      if (secret !== this.#secret || child === undefined) {
        socket.destroy();
        return;
      }
      child.attach(socket, reader, early);
    };
    socket.on('data', onData);
    socket.on('error', () => {});
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

/** The server's one spawner, started at the first call. */
export function sharedSpawner(launcher: Launcher | undefined): Spawner {
  shared ??= new Spawner(launcher);
  return shared;
}
