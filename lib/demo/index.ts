// 'slowlane/demo': the prototype's server on top of the library, for trying
// slowlane out and for comparing with it. Not part of the library's API.
export { createServer, type DemoPool, type DemoTasks, type ServerOptions, type SlowlaneServer } from './server.js';
export { startSlowlane, DEMO_TASKS, type RunningSlowlane, type SlowlaneConfig } from './start.js';
export { heavyLifting, factorial, DEFAULT_N } from './heavy-lifting.js';
