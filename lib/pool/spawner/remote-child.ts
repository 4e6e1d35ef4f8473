// A child the spawner started, as a pool sees it: a ChildLike whose pid, exit
// and spawn failure come from the spawner, and whose messages travel over a
// Unix socket the child connected to this process. Its events follow a
// ChildProcess's: 'spawn', 'message', 'error' (never started), 'exit',
// 'disconnect' (its line is closed, every message read), 'close'.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { ParentMessage } from '../protocol.js';
import { frame, FrameReader } from './frames.js';

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

  constructor(readonly id: number, readonly onHold: (child: RemoteChild, held: boolean) => void) {
    super();
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
    this.onHold(this, false);
    this.emit('error', Object.assign(new Error(message), { code }));
  }

  /** Its socket said hello: messages from now on. */
  attach(socket: Socket, reader: FrameReader, early: readonly unknown[]): void {
    this.#socket = socket;
    if (!this.#held) socket.unref();
    for (const message of early) this.emit('message', message);
    socket.on('data', (chunk: Buffer) => {
      let messages: unknown[];
      try {
        messages = reader.push(chunk);
      } catch {
        socket.destroy(); // not our protocol: the child is treated as gone once it exits
        return;
      }
      for (const message of messages) this.emit('message', message);
    });
    socket.on('error', () => {});
    socket.once('close', () => this.#lineClosed());
  }

  /** The spawner saw it exit. */
  exited(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#exit !== undefined) return;
    this.#exit = [code, signal];
    this.onHold(this, false);
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
    return this.#socket.write(frame(message), (error) => callback?.(error ?? null));
  }

  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    if (this.#exit !== undefined) return false;
    if (this.pid === undefined) {
      this.#pendingKill = signal;
      return true;
    }
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false;
    }
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
    this.onHold(this, this.held);
  }
}
