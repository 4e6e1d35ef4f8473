// The servers under test, each its own process.
import { startListening, startServerProcess, type ServerProcess } from '../tools/server-process.js';

export { ROOT } from '../tools/server-process.js';
export { treeRssMb } from '../tools/proc.js';
export type Running = ServerProcess;

export const startSlowlane = (args: readonly string[] = []): Promise<Running> =>
  startServerProcess(['--host', '127.0.0.1', '--quiet', ...args], { stderr: 'inherit' });

/** slowlane with its access log on (the default), written to /dev/null: the log's cost without a terminal's. */
export const startSlowlaneLogging = (): Promise<Running> => startServerProcess(['--host', '127.0.0.1'], { stderr: 'ignore' });

/** A peer pool behind the same node:http contract (bench/peers/). */
export const startPeer = (name: 'piscina' | 'workerpool'): Promise<Running> =>
  startListening(process.execPath, [new URL(`./peers/${name}-server.js`, import.meta.url).pathname], { stderr: 'inherit' });

export const startBare = (): Promise<Running> => startListening(process.execPath, [new URL('./bare-server.js', import.meta.url).pathname], { stderr: 'inherit' });
