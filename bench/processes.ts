// Starts the servers under test as separate processes and measures their memory.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Running {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

function startListening(command: string, args: readonly string[]): Promise<Running> {
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const found = /listening on (http:\/\/\S+)/.exec(out);
      if (found) {
        resolve({
          url: found[1]!,
          pid: child.pid!,
          async stop() {
            child.kill('SIGTERM');
            const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
            await exited;
            clearTimeout(timer);
          },
        });
      }
    });
    void exited.then(() => reject(new Error(`${command} ${args.join(' ')} exited before listening`)));
  });
}

export const startSlowlane = (args: readonly string[] = []): Promise<Running> =>
  startListening(`${ROOT}bin/server`, ['start', '--port', '0', '--host', '127.0.0.1', '--quiet', ...args]);

export const startBare = (): Promise<Running> => startListening(process.execPath, [`${ROOT}dist/bench/bare-server.js`]);

function rssKb(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

export function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** RSS of a process and its direct children, in MiB. */
export function treeRssMb(pid: number): { total: number; server: number; children: number[] } {
  const server = rssKb(pid) / 1024;
  const children = childrenOf(pid).map((child) => rssKb(child) / 1024);
  return { total: server + children.reduce((a, b) => a + b, 0), server, children };
}
