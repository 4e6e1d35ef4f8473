// workerpool in process mode (child processes, like slowlane) behind the shared contract, one per core, all warm.
import { availableParallelism } from 'node:os';
import workerpool from 'workerpool';
import { serveContract } from './contract.js';

const workers = availableParallelism();
const pool = workerpool.pool(new URL('./workerpool-worker.js', import.meta.url).pathname, { workerType: 'process', minWorkers: workers, maxWorkers: workers });
serveContract((n) => pool.exec('heavyLifting', [n]) as unknown as Promise<number>, () => Promise.resolve(pool.terminate()));
