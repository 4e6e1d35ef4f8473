// piscina's task: its default export.
import { heavyLifting } from '../../lib/demo/heavy-lifting.js';

export default function task(n: number): number {
  return heavyLifting(n);
}
