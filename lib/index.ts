// slowlane's public API: `import { PoolExecutor, ForkExecutor, ... } from 'slowlane'`.
export { PoolExecutor, type PoolExecutorOptions } from './offload/pool-executor.js';
export { ForkExecutor, type ForkExecutorOptions } from './offload/fork-executor.js';
export type { Executor, ExecutorStats, RunOptions } from './offload/executor.js';
export type { CommonExecutorOptions } from './offload/executor-options.js';
export { ExecutorClosedError, QueueFullError, TaskCrashedError, TaskError, TaskLoadError, TaskTimeoutError } from './offload/errors.js';
export { createServer, type ServerOptions, type SlowlaneServer } from './http/server.js';
export { startSlowlane, type RunningSlowlane, type SlowlaneConfig } from './slowlane.js';
export { heavyLifting } from './heavy-lifting.js';
