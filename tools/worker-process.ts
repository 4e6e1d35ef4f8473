// `slowlane worker` as its own process, for the tests, make bench and make
// cluster-demo: resolves once it takes jobs; stop() drains it.
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN_SERVER } from './server-process.js';

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  exited: Promise<unknown>;
  /** What it wrote to stderr: one line per job. */
  log: () => string;
  /** SIGTERM (it drains), SIGKILL after 10 s; resolves once it has exited. */
  stop(): Promise<void>;
}

export function startWorkerProcess(port: number, queue: string, tasks: string, extra: readonly string[] = []): Promise<WorkerProcess> {
  const child = spawn(BIN_SERVER, ['worker', '--redis', `redis://127.0.0.1:${port}`, '--queue', queue, '--tasks', tasks, '--pool-size', '1', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (/taking jobs from queue/.test(out)) resolve({ child, pid: child.pid!, exited, log: () => err, stop });
    });
    void exited.then(() => reject(new Error(`slowlane worker exited before taking jobs: ${err}`)));
  });
}
