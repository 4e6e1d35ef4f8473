// Starting a server as its own process and waiting for its "listening on"
// line, for the tests, make bench and make cluster-demo alike; and running a
// command to its end.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The checkout (this file is compiled to dist/tools/). */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN_SERVER = `${ROOT}bin/server`;
export const BIN_CALL_MULTI = `${ROOT}bin/call-multi`;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  /** What it wrote to stderr so far (its access log), when stderr is captured. */
  stderr: () => string;
  exited: Promise<Exit>;
  /** SIGTERM, then SIGKILL if it has not exited after killAfterMs; resolves once it has exited. */
  stop(killAfterMs?: number): Promise<void>;
}

export interface StartOptions {
  /** 'pipe' keeps stderr for stderr(); 'inherit' shows it; 'ignore' sends it to /dev/null; 'stall' is a pipe nobody reads. Default 'pipe'. */
  stderr?: 'pipe' | 'inherit' | 'ignore' | 'stall';
  env?: NodeJS.ProcessEnv;
  /** Its own process group, so a test can signal the group as a terminal does. */
  detached?: boolean;
  /** Its working directory; the caller's by default. */
  cwd?: string;
}

/** A process started by startUntil: what it printed to stderr so far, its exit, and stop(). */
export interface StartedProcess {
  child: ChildProcess;
  pid: number;
  /** The stdout match that said it is ready. */
  ready: RegExpExecArray;
  stderr: () => string;
  /** What it printed to stdout so far. */
  stdout: () => string;
  exited: Promise<Exit>;
  /** SIGTERM, then SIGKILL if it has not exited after killAfterMs; resolves once it has exited. */
  stop(killAfterMs?: number): Promise<void>;
}

/** Spawns `command` and resolves once its stdout matches `readyLine`; rejects if it exits first. */
export function startUntil(command: string, args: readonly string[], readyLine: RegExp, options: StartOptions = {}): Promise<StartedProcess> {
  const stderr = options.stderr ?? 'pipe';
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', stderr === 'inherit' || stderr === 'ignore' ? stderr : 'pipe'], env: options.env ?? process.env, detached: options.detached ?? false, cwd: options.cwd });
  let err = '';
  if (stderr === 'pipe') child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  else child.stderr?.pause();
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const stop = async (killAfterMs = 15_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const found = readyLine.exec(out);
      if (found) resolve({ child, pid: child.pid!, ready: found, stderr: () => err, stdout: () => out, exited, stop });
    });
    void exited.then(({ code }) => reject(new Error(`${command} ${args.join(' ')} exited with ${code} before it was ready: ${err}`)));
  });
}

/** Spawns `command` and resolves once it prints `listening on http://...`; rejects if it exits first. */
export async function startListening(command: string, args: readonly string[], options: StartOptions = {}): Promise<ServerProcess> {
  const started = await startUntil(command, args, /listening on (http:\/\/\S+)/, options);
  return { child: started.child, pid: started.pid, url: started.ready[1]!, stderr: started.stderr, exited: started.exited, stop: started.stop };
}

/** `bin/server start` on a free port, with these extra flags. */
export function startServerProcess(args: readonly string[] = [], options: StartOptions = {}): Promise<ServerProcess> {
  return startListening(BIN_SERVER, ['start', '--port', '0', ...args], options);
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (bounded by timeoutMs) and collects its output. */
export function runCommand(command: string, args: readonly string[], timeoutMs = 30_000, options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, cwd: options.cwd, env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
