// Takes a job back at its requester's deadline, if no host has taken it yet.
// BullMQ's queue.remove() cannot say this: it answers 1 for a job already
// finished (its hash gone) as for one still waiting, so a job a host had run
// and failed a moment before the deadline read as "never started". Here the
// job leaves the waiting list in one Lua step, the only list hosts take jobs
// from: once out, no host can start it.
import type { Redis } from 'ioredis';
import { jobKey, waitingKey } from './channels.js';

/**
 * -1: not waiting (a host holds it, or finished it a moment ago). Otherwise
 * taken out, and the number of starts it had that may have run: a host that
 * died mid-job put it back (a start given back by a host never ran it).
 */
const TAKE_BACK = `
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return -1 end
local starts = tonumber(redis.call('HGET', KEYS[2], 'ats')) or 0
if starts == 0 then return 0 end
local ok, data = pcall(cjson.decode, redis.call('HGET', KEYS[2], 'data') or '{}')
local back = ok and type(data) == 'table' and tonumber(data.givenBack) or 0
return starts - back
`;

export type TakeBack = { taken: false } | { taken: true; started: boolean };

/** Redis errors reject: the caller cannot know, and counts the job as held. */
export async function takeBack(commands: Redis, space: string, jobId: string): Promise<TakeBack> {
  const starts = (await commands.eval(TAKE_BACK, 2, waitingKey(space), jobKey(space, jobId), jobId)) as number;
  return starts < 0 ? { taken: false } : { taken: true, started: starts > 0 };
}
