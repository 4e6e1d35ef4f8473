// The Redis names slowlane/queue adds to BullMQ's: one pub/sub channel per
// queue, on which requesters name jobs whose client left, and a short-lived
// mark per such job, for a host that takes it after the message went by;
// each requester's inbox (a list only it reads), and the keys of results
// too big to travel in it.
export const cancelChannel = (queue: string): string => `slowlane:${queue}:cancel`;
export const cancelledKey = (queue: string, jobId: string): string => `slowlane:${queue}:cancelled:${jobId}`;
export const inboxKey = (queue: string, runnerId: string): string => `slowlane:${queue}:inbox:${runnerId}`;
export const resultKey = (queue: string, jobId: string): string => `slowlane:${queue}:result:${jobId}`;

/**
 * A requester's id and a job's id are UUIDs. A host answers only jobs whose ids
 * have this shape: a forged job cannot make it write to any other key.
 */
export const isUuid = (id: unknown): id is string => typeof id === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id);
