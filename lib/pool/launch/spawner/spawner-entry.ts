// The spawner: a small process a server starts while it is still small, and
// asks to start every child from then on. fork() copies the forking process's
// page tables and libuv's spawn blocks its loop meanwhile, so a child started
// by a server holding gigabytes stalls that server for tens of milliseconds;
// started from here, it stalls nothing but this process. It only starts,
// reports and forwards output: the children talk to the server directly.
import { spawn, type ChildProcess } from 'node:child_process';
import process from 'node:process';
import type { Readable, Writable } from 'node:stream';
import type { SpawnerReport, SpawnerRequest } from './spawner-protocol.js';

if (process.send === undefined) {
  console.error('slowlane spawner: start me through a ChildPool (I need an IPC channel)');
  process.exit(2);
}

const children = new Map<number, ChildProcess>();

// Only the server ends it (its channel closes, or the kernel's parent-death
// signal): a signal sent to a whole group or service must not take the
// children's exit reports away while the server drains.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});

function report(message: SpawnerReport): void {
  if (process.connected) process.send!(message);
}

/** Output a child writes while ours is this far behind is dropped: a stalled reader must not cost memory here. */
const MAX_BACKLOG = 1024 * 1024;

function forward(from: Readable | null, to: Writable): void {
  from?.on('data', (chunk: Buffer) => {
    if (!to.destroyed && to.writableLength < MAX_BACKLOG) to.write(chunk);
  });
}
for (const out of [process.stdout, process.stderr]) out.on('error', () => {});

function start({ id, file, args, env, cwd, uid, gid, token }: Extract<SpawnerRequest, { type: 'start' }>): void {
  let child: ChildProcess;
  try {
    // Its own session and process group, as the pool's fork() gives it; its
    // output through pipes of ours; fd 3 carries its secret, read once. The
    // server's ids when they are not ours: it dropped privileges after it
    // started this process, and its children must be its own to signal.
    child = spawn(file, args, {
      env, cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      ...(uid !== undefined && uid !== process.getuid?.() ? { uid } : {}),
      ...(gid !== undefined && gid !== process.getgid?.() ? { gid } : {}),
    });
  } catch (error) {
    report({ type: 'failed', id, code: String((error as NodeJS.ErrnoException).code ?? 'EUNKNOWN'), message: (error as Error).message });
    return;
  }
  child.once('error', (error: NodeJS.ErrnoException) => {
    if (child.pid === undefined) report({ type: 'failed', id, code: String(error.code ?? 'EUNKNOWN'), message: error.message });
  });
  if (child.pid === undefined) return; // 'error' follows
  children.set(id, child);
  const secret = child.stdio[3] as Writable | null;
  secret?.on('error', () => {}); // a child that died before reading it
  secret?.end(token);
  forward(child.stdout, process.stdout);
  forward(child.stderr, process.stderr);
  report({ type: 'spawned', id, pid: child.pid });
  child.once('exit', (code, signal) => {
    children.delete(id);
    report({ type: 'exit', id, code, signal });
  });
}

/** The child and what its task started: its whole process group. */
function kill(id: number, signal: NodeJS.Signals | number): void {
  const pid = children.get(id)?.pid;
  if (pid === undefined) return;
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, signal);
    } catch {
      // Gone already.
    }
  }
}

process.on('message', (message: SpawnerRequest) => {
  if (message.type === 'start') start(message);
  else if (message.type === 'kill') kill(message.id, message.signal);
  else if (message.type === 'ping') report({ type: 'pong' });
});
// The server is gone: so is every reason to be here. Children started with
// the parent-death launcher die with this process; the rest see their line close.
process.on('disconnect', () => {
  for (const child of children.values()) {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  process.exit(0);
});
