import type { EnumValue } from './enum.js';

/**
 * How urgent an acquire is. The built-in wait queue ignores it (first come, first served);
 * `@pool/queue`'s `PriorityWaitQueue` serves higher priorities first, FIFO within a level.
 */
export const QueuePriority = Object.freeze({
  Critical: 'critical',
  High: 'high',
  Normal: 'normal',
  Low: 'low',
} as const);

/** One of the {@link QueuePriority} values. */
export type QueuePriority = EnumValue<typeof QueuePriority>;

/** The priorities from most to least urgent. */
export const QUEUE_PRIORITIES: readonly QueuePriority[] = Object.freeze(['critical', 'high', 'normal', 'low']);
