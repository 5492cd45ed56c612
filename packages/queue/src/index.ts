export { QUEUE_PRIORITIES, QueuePriority } from '@pool/core';
export {
  DeadlockDetector,
  type DeadlockDetectorOptions,
  type DeadlockReport,
  type DeadlockStatistics,
  type DeadlockTask,
} from './deadlock-detector.js';
export { DeadlockError, type DeadlockKind, QueueTimeoutError } from './errors.js';
export { AsyncOwnerScope, TaskScope } from './owner-scope.js';
export {
  type EnqueueOptions,
  PriorityWaitQueue,
  type PriorityWaitQueueOptions,
  type QueueLevelStatistics,
  type QueueStatistics,
  type QueueTicket,
} from './priority-wait-queue.js';
export { StarvationPrevention, type StarvationPreventionOptions, type StarvationStatistics } from './starvation-prevention.js';
