// The Redis names slowlane/queue adds to BullMQ's: one pub/sub channel per
// queue, on which requesters name jobs whose client left, and a short-lived
// mark per such job, for a host that takes it after the message went by.
export const cancelChannel = (queue: string): string => `slowlane:${queue}:cancel`;
export const cancelledKey = (queue: string, jobId: string): string => `slowlane:${queue}:cancelled:${jobId}`;
