// The tasks the demo server offloads. Every function exported here can be run
// by a pool created with this module; nothing else can.
export { heavyLifting } from './heavy-lifting.js';
