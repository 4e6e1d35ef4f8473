// requestSignal(): an AbortSignal that aborts when the client goes away
// before its response has finished, for any code that runs work for a
// request (pool.run(task, args, { signal })). offload() uses it itself.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

// A pipelined request's response is not attached to the socket yet and sees
// no 'close' of its own when the client leaves; the socket does. One
// listener per socket, however many requests wait on it.
const waiting = new WeakMap<Socket, Set<() => void>>();

function watchSocket(socket: Socket, onClose: () => void): void {
  let callbacks = waiting.get(socket);
  if (callbacks === undefined) {
    const set = new Set<() => void>();
    callbacks = set;
    waiting.set(socket, set);
    socket.once('close', () => {
      waiting.delete(socket);
      for (const callback of set) callback();
    });
  }
  callbacks.add(onClose);
}

function unwatchSocket(socket: Socket, onClose: () => void): void {
  waiting.get(socket)?.delete(onClose);
}

/**
 * Aborts when the client goes away before `res` has finished: its response
 * closes early, or its socket closes while the response still waits (a
 * pipelined request's response is not attached to the socket yet and sees
 * no 'close' of its own).
 */
export function requestSignal(req: IncomingMessage, res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  const leftEarly = (): void => {
    if (!res.writableFinished) controller.abort();
  };
  const socket = req.socket;
  watchSocket(socket, leftEarly);
  res.once('close', () => {
    unwatchSocket(socket, leftEarly);
    leftEarly();
  });
  return controller.signal;
}
