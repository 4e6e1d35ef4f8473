// piscina (worker threads) behind the shared contract, one thread per core, all warm.
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { serveContract } from './contract.js';

const threads = availableParallelism();
const pool = new Piscina({ filename: new URL('./piscina-task.js', import.meta.url).href, minThreads: threads, maxThreads: threads });
serveContract((n) => pool.run(n) as Promise<number>, () => pool.destroy());
