// A plain BullMQ worker host for the queue peer: BullMQ's own Worker with a
// sandboxed processor (a child process per concurrent job), as BullMQ's docs
// set one up. Prints "taking jobs" once ready; SIGTERM closes it.
// Usage: node bullmq-host.js PORT QUEUE CONCURRENCY
import { Worker } from 'bullmq';
import { fileURLToPath } from 'node:url';

const [port, queue, concurrency] = process.argv.slice(2);
const worker = new Worker(queue!, fileURLToPath(new URL('./bullmq-processor.js', import.meta.url)), {
  connection: { host: '127.0.0.1', port: Number(port), maxRetriesPerRequest: null },
  concurrency: Number(concurrency),
  removeOnComplete: { count: 0 },
  removeOnFail: { count: 0 },
});
worker.on('error', () => {});
await worker.waitUntilReady();
process.stdout.write('taking jobs\n');
process.once('SIGTERM', () => void worker.close().then(() => process.exit(0)));
