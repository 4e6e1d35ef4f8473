// slowlane/queue needs BullMQ and ioredis, optional peer dependencies: they
// are loaded when a queue class is first made, and a missing one is named
// with the command that installs it, not "Cannot find module".
import { createRequire } from 'node:module';
import type * as BullMQ from 'bullmq';
import type { Redis } from 'ioredis';

const requireFromHere = createRequire(import.meta.url);

function load<T>(name: string): T {
  try {
    return requireFromHere(name) as T;
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw error;
    throw new Error(`slowlane/queue needs ${name}: install it with \`npm install bullmq ioredis\``);
  }
}

export const bullmq = (): typeof BullMQ => load<typeof BullMQ>('bullmq');
export const ioredis = (): typeof Redis => load<{ Redis: typeof Redis }>('ioredis').Redis;
