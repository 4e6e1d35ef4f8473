// The tasks slowlane's own server offloads. Every named export here can be
// run by an executor created with this module; nothing else can.
export { heavyLifting } from './heavy-lifting.js';
