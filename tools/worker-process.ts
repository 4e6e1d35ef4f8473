// `slowlane worker` as its own process, for the tests, make bench and make
// cluster-demo: resolves once it takes jobs; stop() drains it.
import type { ChildProcess } from 'node:child_process';
import { BIN_SERVER, startUntil } from './server-process.js';

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  exited: Promise<unknown>;
  /** What it wrote to stderr: one line per job. */
  log: () => string;
  /** SIGTERM (it drains), SIGKILL after 10 s; resolves once it has exited. */
  stop(): Promise<void>;
}

export async function startWorkerProcess(port: number, queue: string, tasks: string, extra: readonly string[] = []): Promise<WorkerProcess> {
  const started = await startUntil(BIN_SERVER, ['worker', '--redis', `redis://127.0.0.1:${port}`, '--queue', queue, '--tasks', tasks, '--pool-size', '1', ...extra], /taking jobs from queue/);
  return { child: started.child, pid: started.pid, exited: started.exited, log: started.stderr, stop: () => started.stop(10_000) };
}
