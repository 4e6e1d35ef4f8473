// slowlane/queue: slow work across machines on BullMQ and Redis. A
// QueueRunner on each server sends runs; startQueueWorker on each worker host
// runs them in its ChildPool. BullMQ and ioredis are optional peer
// dependencies, loaded when a class is first made.
export { QueueRunner, type QueueRunnerOptions } from './queue-runner.js';
export { startQueueWorker, type JobReport, type QueueWorker, type QueueWorkerOptions, type WorkerPool } from './queue-worker.js';
export { JobStoppedError, QueueUnavailableError, type StopReason } from './errors.js';
export { readQueueDepth, watchQueueDepth, type DepthSource, type QueueDepth, type QueueDepthWatch, type QueueDepthWatchOptions } from './queue-depth.js';
