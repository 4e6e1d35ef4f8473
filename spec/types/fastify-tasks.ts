// Type test for slowlane/fastify: reply.offload() follows the tasks module
// each registered pool is declared with (SlowlanePools).
import Fastify from 'fastify';
import slowlane from '../../lib/fastify/index.js';
import { ChildPool } from '../../lib/index.js';
import type { StreamNeedsGeneratorHint } from '../../lib/pool/task-types.js';

declare const needsGenerator: StreamNeedsGeneratorHint;

type Tasks = typeof import('../fixtures/tasks.js');
type StreamTasks = typeof import('../fixtures/stream-tasks.js');

declare module '../../lib/fastify/index.js' {
  interface SlowlanePools {
    default: Tasks;
    streams: StreamTasks;
  }
}

const app = Fastify();
void app.register(slowlane, { pools: { default: new ChildPool<Tasks>({ tasks: 'x' }), streams: new ChildPool<StreamTasks>({ tasks: 'y' }) } });

app.get('/', async (_req, reply) => {
  await reply.offload('add', [1, 2]);
  await reply.offload('sleep', [10], { timeoutMs: 100 });
  await reply.offload('count', [3], { pool: 'streams', stream: true });
  // @ts-expect-error a misspelt task name
  await reply.offload('ad', [1, 2]);
  // @ts-expect-error an argument of the wrong type
  await reply.offload('add', ['1', 2]);
  // @ts-expect-error a task of another pool
  await reply.offload('count', [3], { pool: 'default', stream: true });
  // @ts-expect-error a pool nobody registered
  await reply.offload('add', [1, 2], { pool: 'reports' });
  // @ts-expect-error stream: true needs a generator task
  await reply.offload('plain', [], { pool: 'streams', stream: true });
  // The type that error quotes in stream's place says what to do.
  await reply.offload('plain', [], { pool: 'streams', stream: needsGenerator });
  return reply;
});
