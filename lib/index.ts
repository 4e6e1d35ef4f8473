// slowlane's public API: the child pool, the typed-task helpers and the
// node:http helpers. The demo server lives at 'slowlane/demo'.
export { ChildPool, type ChildInfo, type LatencySummary, type PoolLatency, type PoolStats } from './pool/child-pool.js';
export type { ChildPoolOptions } from './pool/pool-options.js';
export type { MapOptions, MapProgress } from './pool/pool-map.js';
export type { RunOptions } from './pool/run-options.js';
export type { TraceCarrier } from './trace/carrier.js';
export type { RunEvent } from './trace/run-channels.js';
export type { AnyRunner, RunStream, RunTask, TaskArgs, TaskFunction, TaskName, TaskResult, TaskRunner, UntypedTasks } from './pool/task-types.js';
export { ChildStartError, DeadlineError, PoolClosedError, QueueFullError, ResultTooLargeError, SlowlaneError, StreamIdleError, TaskCrashedError, TaskError, TaskLoadError, TaskMemoryError, TaskTimeoutError, UnknownTaskError } from './pool/errors.js';
export { POOL_DEFAULTS } from './defaults.js';
export { offload, type OffloadOptions, type ArgsFrom } from './http/offload.js';
export { requestSignal } from './http/request-signal.js';
export { LoopPressure, type LoopPressureStats } from './http/loop-pressure.js';
export { failureJson, failureResponse, type FailureResponse } from './http/failure-response.js';
export { HttpError } from './http/http-error.js';
