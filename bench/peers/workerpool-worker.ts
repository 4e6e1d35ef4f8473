// workerpool's worker: registers the task it may run.
import workerpool from 'workerpool';
import { heavyLifting } from '../../lib/demo/heavy-lifting.js';

workerpool.worker({ heavyLifting, noop: () => 0 });
