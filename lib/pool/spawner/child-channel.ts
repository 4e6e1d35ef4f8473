// A child's line to its pool: Node's IPC channel when the pool forked it, or
// a Unix socket to the pool's process when a spawner started it (the child is
// not the pool's, so it has no IPC channel to it). The same three things
// either way: send with a callback once handed over, messages, and the end.
import { connect } from 'node:net';
import process from 'node:process';
import { frame, FrameReader } from './frames.js';

export interface ChildChannel {
  /** `then(error)` runs once the message is handed to the channel. */
  send(message: unknown, then: (error: Error | null | undefined) => void): void;
  onMessage(listener: (message: unknown) => void): void;
  /** The pool's side is gone: its process died, or it closed the channel. */
  onEnd(listener: () => void): void;
}

/** The environment variables a spawned child finds its pool by. */
export const CHANNEL_ENV = { path: 'SLOWLANE_CHANNEL', token: 'SLOWLANE_CHANNEL_TOKEN' } as const;

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
    const socket = connect(path);
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
  const path = env[CHANNEL_ENV.path];
  const token = env[CHANNEL_ENV.token];
  // Not handed on to what the task starts.
  delete env[CHANNEL_ENV.path];
  delete env[CHANNEL_ENV.token];
  if (path !== undefined && token !== undefined) return socketChannel(path, token);
  return ipcChannel();
}
