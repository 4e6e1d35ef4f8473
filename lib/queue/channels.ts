// The Redis names slowlane/queue adds to BullMQ's: one pub/sub channel per
// queue, on which requesters name jobs whose client left.
export const cancelChannel = (queue: string): string => `slowlane:${queue}:cancel`;
