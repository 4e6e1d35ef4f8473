// A child the spawner started, as a pool sees it: a ChildLike whose pid, exit
// and spawn failure come from the spawner, and whose messages travel over a
// Unix socket the child connected to this process. Its events follow a
// ChildProcess's: 'spawn', 'message', 'error' (never started), 'exit',
// 'disconnect' (its line is closed, every message read), 'close'.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { ParentMessage } from '../../wire/protocol.js';
import { SPAWNER_LOST } from '../fork.js';
import { frame, type FrameReader } from '../../wire/frames.js';

export interface RemoteChildHooks {
  /** It became held or let go: the spawner keeps this process alive only for held children. */
  onHold(child: RemoteChild, held: boolean): void;
  /** The server may not signal it (EPERM: it dropped privileges after the child started): the spawner does. */
  killFor(child: RemoteChild, signal: NodeJS.Signals | number): void;
  /** It was sent `signal`: after a SIGKILL its exit is owed soon. */
  killed(child: RemoteChild, signal: NodeJS.Signals | number): void;
}

// What the pool sends while children's messages are handed to it (the runs
// a prefetching pool sends after a read of several answers) is gathered per
// socket and written once, when the read's last message has been handled:
// before any other code runs, so nothing waits on a caller's busy loop.
let gathering = 0;
const corked = new Set<Socket>();

function uncorkAll(): void {
  for (const socket of corked) socket.uncork();
  corked.clear();
}

export class RemoteChild extends EventEmitter {
  pid: number | undefined;
  readonly stdout = null;
  readonly stderr = null;
  #socket: Socket | undefined;
  #held = true;
  #pendingKill: NodeJS.Signals | number | undefined;
  #exit: [number | null, NodeJS.Signals | null] | undefined;
  #disconnected = false;
  /** The socket's ref and unref, for holdProcess(). */
  readonly channel = { ref: () => this.#hold(true), unref: () => this.#hold(false) };

  constructor(readonly id: number, readonly hooks: RemoteChildHooks) {
    super();
  }

  /** Its socket said hello already: a second hello for it is a stranger's. */
  get attached(): boolean {
    return this.#socket !== undefined;
  }

  get held(): boolean {
    return this.#held && this.#exit === undefined;
  }

  /** The spawner started it. */
  spawned(pid: number): void {
    this.pid = pid;
    if (this.#pendingKill !== undefined) this.kill(this.#pendingKill);
    this.emit('spawn');
  }

  /** The spawner could not start it: an 'error' carrying the errno, as fork() gives. */
  failed(code: string, message: string): void {
    this.#exit = [null, null];
    this.hooks.onHold(this, false);
    this.emit('error', Object.assign(new Error(message), { code }));
  }

  /** Its spawner died (and took it along, if it had started): the pool starts another, no run blames the tasks module. */
  lost(): void {
    if (this.#exit !== undefined) return;
    if (this.pid === undefined) {
      this.failed(SPAWNER_LOST, 'the spawner died before starting it');
      return;
    }
    this.emit('error', Object.assign(new Error('the spawner that started it died'), { code: SPAWNER_LOST }));
    this.exited(null, 'SIGKILL');
  }

  /** Its socket said hello: messages from now on, starting with any that came with the hello. */
  attach(socket: Socket, reader: FrameReader): void {
    this.#socket = socket;
    if (!this.#held) socket.unref();
    const read = (chunk: Buffer): void => {
      let messages: unknown[];
      try {
        messages = reader.push(chunk);
      } catch {
        socket.destroy(); // not our protocol: the child is treated as gone once it exits
        return;
      }
      gathering += 1;
      try {
        for (const message of messages) this.emit('message', message);
      } finally {
        gathering -= 1;
        if (gathering === 0) uncorkAll();
      }
    };
    socket.on('data', read);
    socket.on('error', () => {});
    socket.once('close', () => this.#lineClosed());
    read(Buffer.alloc(0));
  }

  /** The spawner saw it exit. */
  exited(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#exit !== undefined) return;
    this.#exit = [code, signal];
    this.hooks.onHold(this, false);
    this.emit('exit', code, signal);
    // Never connected (it died loading): there is no line left to wait for.
    if (this.#socket === undefined) this.#lineClosed();
    else if (this.#disconnected) this.emit('close', code, signal);
  }

  #lineClosed(): void {
    if (this.#disconnected) return;
    this.#disconnected = true;
    this.emit('disconnect');
    if (this.#exit !== undefined) this.emit('close', ...this.#exit);
  }

  get connected(): boolean {
    return this.#socket !== undefined && !this.#disconnected;
  }

  send(message: ParentMessage, callback?: (error: Error | null) => void): boolean {
    if (this.#socket === undefined || this.#disconnected) {
      callback?.(new Error('the child is not connected'));
      return false;
    }
    const socket = this.#socket;
    if (gathering > 0 && !corked.has(socket)) {
      socket.cork();
      corked.add(socket);
    }
    return socket.write(frame(message), (error) => callback?.(error ?? null));
  }

  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    if (this.#exit !== undefined) return false;
    if (this.pid === undefined) {
      this.#pendingKill = signal;
      return true;
    }
    try {
      process.kill(this.pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
      this.hooks.killFor(this, signal);
    }
    this.hooks.killed(this, signal);
    return true;
  }

  ref(): void {
    this.#hold(true);
  }

  unref(): void {
    this.#hold(false);
  }

  #hold(held: boolean): void {
    this.#held = held;
    if (held) this.#socket?.ref();
    else this.#socket?.unref();
    this.hooks.onHold(this, this.held);
  }
}
