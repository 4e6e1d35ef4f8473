// BullMQ's sandboxed processor for the queue peer: the same heavyLifting(n)
// the slowlane hosts run, in a child process BullMQ forks.
import type { SandboxedJob } from 'bullmq';
import { heavyLifting } from '../../lib/demo/heavy-lifting.js';

export default async function process(job: SandboxedJob<{ n: number }>): Promise<unknown> {
  return heavyLifting(job.data.n);
}
