// A child's line to its pool: Node's IPC channel when the pool forked it, or
// a Unix socket to the pool's process when a spawner started it (the child is
// not the pool's, so it has no IPC channel to it). The same three things
// either way: send with a callback once handed over, messages, and the end.
import { connect, Socket } from 'node:net';
import process from 'node:process';
import { frame, FrameReader } from '../wire/frames.js';

export interface ChildChannel {
  /** `then(error)` runs once the message is handed to the channel. */
  send(message: unknown, then: (error: Error | null | undefined) => void): void;
  onMessage(listener: (message: unknown) => void): void;
  /** The pool's side is gone: its process died, or it closed the channel. */
  onEnd(listener: () => void): void;
}

/** The environment variable a spawned child finds its pool's socket by: a path, or `@name` for a Linux abstract socket. */
export const CHANNEL_ENV = 'SLOWLANE_CHANNEL';

/** The file descriptor a spawned child reads its secret from, once: never in its environment, which /proc shows to its whole user. */
export const TOKEN_FD = 3;

/** An environment variable cannot hold the NUL byte that starts an abstract socket's name: `@` stands for it. */
export const socketAddress = (value: string): string => (value.startsWith('@') ? `\0${value.slice(1)}` : value);

/** Reads the secret the spawner wrote to fd 3 and closed. */
export function readToken(fd = TOKEN_FD): Promise<string> {
  return new Promise((resolve, reject) => {
    const pipe = new Socket({ fd, readable: true, writable: false });
    let text = '';
    pipe.setEncoding('utf8');
    pipe.on('data', (chunk: string) => {
      // A secret is ~40 characters: more is not the spawner writing.
      text += chunk;
      if (text.length > 256) pipe.destroy(new Error('the secret on fd 3 is too long'));
    });
    pipe.once('error', reject);
    pipe.once('end', () => {
      pipe.destroy();
      resolve(text);
    });
  });
}

export function ipcChannel(): ChildChannel | undefined {
  if (process.send === undefined) return undefined;
  return {
    send: (message, then) => void process.send!(message, undefined, undefined, then),
    onMessage: (listener) => void process.on('message', listener),
    onEnd: (listener) => void process.on('disconnect', listener),
  };
}

/** Connects to the pool's socket and says who it is; resolves once connected. */
export function socketChannel(path: string, token: string): Promise<ChildChannel> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketAddress(path));
    const reader = new FrameReader();
    const listeners: ((message: unknown) => void)[] = [];
    socket.once('error', reject);
    socket.on('data', (chunk: Buffer) => {
      for (const message of reader.push(chunk)) for (const listener of listeners) listener(message);
    });
    socket.once('connect', () => {
      socket.off('error', reject);
      // Errors end the channel as a close does; the 'close' listener below handles both.
      socket.on('error', () => {});
      socket.write(frame({ hello: token }));
      const channel: ChildChannel = {
        send: (message, then) => void socket.write(frame(message), (error) => then(error ?? null)),
        onMessage: (listener) => void listeners.push(listener),
        onEnd: (listener) => void socket.once('close', listener),
      };
      // A forked child has process.connected; libraries read it to know they run under a parent.
      let connected = true;
      socket.once('close', () => (connected = false));
      Object.defineProperty(process, 'connected', { configurable: true, enumerable: true, get: () => connected });
      // As a forked child has it: a task (or a library) that calls
      // process.send() itself reaches the pool, which ignores what is not
      // the protocol's, instead of failing on a missing function.
      process.send = ((message: unknown, ...rest: unknown[]) => {
        const callback = rest.find((arg): arg is (error: Error | null) => void => typeof arg === 'function');
        channel.send(message, (error) => callback?.(error ?? null));
        return true;
      }) as typeof process.send;
      resolve(channel);
    });
  });
}

/** The channel this child was started with, or undefined (started by hand). */
export async function childChannel(env: NodeJS.ProcessEnv = process.env): Promise<ChildChannel | undefined> {
  const path = env[CHANNEL_ENV];
  // Not handed on to what the task starts.
  delete env[CHANNEL_ENV];
  if (path !== undefined) return socketChannel(path, await readToken());
  return ipcChannel();
}
