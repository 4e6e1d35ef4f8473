// The Redis names slowlane/queue adds to BullMQ's, under the queue's own key
// space (BullMQ's prefix and the queue's name, so that with a hash-tag prefix
// on Redis Cluster they share the queue's slot): one pub/sub channel on which
// requesters name jobs whose client left, and a short-lived mark per such
// job, for a host that takes it after the message went by; each requester's
// inbox (a list only it reads), and the keys of results too big to travel in it.

/** A queue's key space: BullMQ's prefix and the queue's name, as its own keys begin. */
export const keySpace = (prefix: string, queue: string): string => `${prefix}:${queue}`;

export const cancelChannel = (space: string): string => `${space}:slowlane:cancel`;
export const cancelledKey = (space: string, jobId: string): string => `${space}:slowlane:cancelled:${jobId}`;
export const inboxKey = (space: string, runnerId: string): string => `${space}:slowlane:inbox:${runnerId}`;
export const resultKey = (space: string, jobId: string): string => `${space}:slowlane:result:${jobId}`;

/**
 * A requester's id and a job's id are UUIDs. A host answers only jobs whose ids
 * have this shape: a forged job cannot make it write to any other key.
 */
export const isUuid = (id: unknown): id is string => typeof id === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id);

// BullMQ's own keys that slowlane reads (its documented layout): the list of
// jobs no host took yet, and a job's hash.
export const waitingKey = (space: string): string => `${space}:wait`;
export const jobKey = (space: string, jobId: string): string => `${space}:${jobId}`;
