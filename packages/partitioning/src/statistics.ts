import { build, type Histogram } from 'hdr-histogram-js';
import type { BudgetLimit } from './errors.js';
import type { PartitionLimits } from './limits.js';
import type { PartitionType } from './partition-type.js';

/** Why an acquire through a partition failed (the keys of {@link PartitionStatistics.rejections}). */
export type RejectionReason =
  /** The partition's wait queue was full (`maxWaitQueue`). */
  | 'queueFull'
  /** The caller's deadline passed while it waited for a connection. */
  | 'timeout'
  /** The caller's signal aborted the acquire. */
  | 'aborted'
  /** A budget could not refill within the deadline. */
  | BudgetLimit
  /** The partition was being removed. */
  | 'removed'
  /** The manager or the pool was closed. */
  | 'closed'
  /** The partition's `prepare` hook failed. */
  | 'prepare'
  /** The pool failed the acquire for another reason (for example its own wait queue was full). */
  | 'pool'
  /** Something else failed the waiter through `Waiter.fail` (for example a deadlock detector). */
  | 'failed';

/** Every {@link RejectionReason}, in a stable order (for exporters). */
export const REJECTION_REASONS: readonly RejectionReason[] = Object.freeze([
  'queueFull',
  'timeout',
  'aborted',
  'cpuLimitMs',
  'ioLimit',
  'memoryLimitBytes',
  'removed',
  'closed',
  'prepare',
  'pool',
  'failed',
]);

/** What holds a partition's queue back right now. */
export type BlockReason = 'maxConnections' | 'sharedCapacity' | BudgetLimit;

/** How much of its budgets a partition uses right now. */
export interface BudgetUsage {
  /** Connection-hold time in the rolling minute, against `cpuLimitMs`. */
  cpu: { limitMs: number | null; usedMs: number };
  /** Acquisitions spent out of the current one-second burst, against `ioLimit` (acquisitions per second). */
  io: { limitPerSecond: number | null; used: number };
  /** Bytes accounted to the partition's connections, against `memoryLimitBytes`. */
  memory: { limitBytes: number | null; usedBytes: number; perConnectionBytes: number | null };
}

/** Connection preparation (`prepare` hook) and label affinity. */
export interface PreparationStatistics {
  /** Times the hook ran (a connection not yet prepared for this partition was handed out). */
  prepared: number;
  /** Times the hook failed or timed out (the connection was destroyed). */
  failed: number;
  /** Times a connection already prepared for this partition was handed out, so the hook was skipped. */
  reused: number;
  /** Mean duration of a successful hook run, in ms. */
  averagePrepareMs: number;
  /** Estimated time saved by affinity: `reused × averagePrepareMs`. */
  savedMs: number;
}

/**
 * Statistics of one partition (plain, JSON-safe data; what the management API serves). Counters run
 * since the partition was created or since `resetStatistics()`.
 */
export interface PartitionStatistics {
  id: string;
  type: PartitionType;
  /** `'active'`, or `'draining'` while `removePartition()` waits for its borrows. */
  state: 'active' | 'draining';
  /** True when the partition has a pool of its own. */
  isolated: boolean;
  /** The name of the pool its connections come from. */
  pool: string;
  limits: PartitionLimits;
  /** Successful acquisitions (the seed's `connections_acquired`). */
  connectionsAcquired: number;
  /** Borrows that ended (the seed's `connections_released`). */
  connectionsReleased: number;
  /** Connections borrowed by the partition's callers right now. */
  active: number;
  /** Connections being acquired from the pool for it right now (they count against its limits). */
  acquiring: number;
  /** Callers waiting in the partition's queue. */
  waiting: number;
  /** Reserved slots (`minConnections`) the partition is not using, kept free for it. */
  reservedIdle: number;
  /** What holds the queue back, when callers wait. */
  blockedOn: BlockReason | null;
  /** Acquisitions that timed out (also counted in `rejections.timeout`). */
  timeouts: number;
  /** Failed acquisitions by reason. */
  rejections: Record<RejectionReason, number>;
  /** Mean wait of successful acquisitions, in ms (0 for those served at once). */
  averageWaitMs: number;
  /** 99th percentile of those waits, in ms (HDR histogram, two significant digits). */
  p99WaitMs: number;
  /** Longest of those waits, in ms. */
  maxWaitMs: number;
  /** Mean time a borrow was held, in ms. */
  averageHoldMs: number;
  budgets: BudgetUsage;
  preparation: PreparationStatistics;
}

/** Wait-time percentiles: an HDR histogram in microseconds (1 µs to 1 hour, 2 significant digits, ~14 KB). */
export class WaitRecorder {
  #histogram: Histogram = WaitRecorder.#build();
  #count = 0;
  #totalMs = 0;
  #maxMs = 0;

  static #build(): Histogram {
    return build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 2, autoResize: true });
  }

  record(waitMs: number): void {
    const ms = Math.max(0, waitMs);
    this.#histogram.recordValue(Math.round(ms * 1000));
    this.#count++;
    this.#totalMs += ms;
    if (ms > this.#maxMs) this.#maxMs = ms;
  }

  get averageMs(): number {
    return this.#count === 0 ? 0 : this.#totalMs / this.#count;
  }

  get maxMs(): number {
    return this.#maxMs;
  }

  percentileMs(p: number): number {
    return this.#count === 0 ? 0 : this.#histogram.getValueAtPercentile(p) / 1000;
  }

  reset(): void {
    this.#histogram.reset();
    this.#count = 0;
    this.#totalMs = 0;
    this.#maxMs = 0;
  }
}

/** A zeroed rejection counter. */
export function emptyRejections(): Record<RejectionReason, number> {
  const out = {} as Record<RejectionReason, number>;
  for (const r of REJECTION_REASONS) out[r] = 0;
  return out;
}
