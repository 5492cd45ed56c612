import type { DestroyReason } from './events.js';
import type { SlotState } from './slot.js';

/** How many connections are where, right now (the seed's `api::get_pool_size`). */
export interface PoolSize {
  /** Open connections (idle + active). */
  total: number;
  /** Open and free to borrow. */
  idle: number;
  /** Open and not free: borrowed, or being validated or reset between borrows. */
  active: number;
  /** Being created. */
  pending: number;
  /** Callers waiting for a connection. */
  waiting: number;
}

/**
 * Cheap counters since the pool was created (the seed's `pool.statistics()`). Every figure is a
 * plain number kept up to date on the hot path without allocation; `@pool/monitoring` adds histograms,
 * usage patterns and efficiency on top.
 */
export interface PoolStatistics {
  /** The pool's name. */
  name: string;
  connectionsCreated: number;
  connectionsDestroyed: number;
  /** Destroyed connections by reason. */
  destroyedByReason: Record<DestroyReason, number>;
  /** `factory.create()` calls that failed or timed out. */
  createFailures: number;
  /** ...of which the factory called fatal (`classifyCreateError`): retrying could not fix them. */
  fatalCreateFailures: number;
  /** Successful acquisitions. */
  acquired: number;
  /** Borrows that ended (release, destroy, reclaim). */
  released: number;
  /** Borrows released with an error. */
  releasedWithError: number;
  /** Borrows the pool ended itself (`reclaim`, or `close()` past its timeout). */
  reclaimed: number;
  /** Acquisitions that failed, whatever the reason. */
  acquireFailures: number;
  /** ...of which timed out. */
  timeouts: number;
  /** ...of which were refused because the wait queue was full. */
  rejected: number;
  /** ...of which were aborted by the caller's signal. */
  aborted: number;
  /** Acquisitions that had to wait for a connection. */
  waited: number;
  /** Validations run (skipped fast validations included). */
  validations: number;
  validationFailures: number;
  /** `factory.reset()` calls, and how many failed or timed out. */
  resets: number;
  resetFailures: number;
  /** Borrows flagged as leaks (held past `leakDetectionThresholdMs`). */
  leaksDetected: number;
  /** Errors contained by the pool (throwing listeners, failing `factory.close`). */
  errors: number;
  activeConnections: number;
  idleConnections: number;
  totalConnections: number;
  pendingCreates: number;
  waiting: number;
  /** acquired / (acquired + acquireFailures); 1 before the first acquire. */
  successRate: number;
  /** Mean time callers waited for a connection, in ms (0 for those served at once). */
  averageAcquireTimeMs: number;
  /** Longest wait so far, in ms. */
  maxAcquireTimeMs: number;
  /** Mean `factory.create()` duration of successful creations, in ms. */
  averageCreateTimeMs: number;
  /** True while acquisition is suspended. */
  suspended: boolean;
  /** `'open'`, `'closing'` or `'closed'`. */
  state: 'open' | 'closing' | 'closed';
}

/** A snapshot of one open connection, for inspection and leak detection. */
export interface ConnectionInfo {
  id: number;
  state: SlotState;
  /** Epoch ms when it was opened. */
  createdAt: number;
  ageMs: number;
  borrows: number;
  label: string | undefined;
  /** Epoch ms of the current borrow's start, when borrowed and borrow times are measured (leak detection, stack capture, fast validation, or an acquire/release listener). */
  acquiredAt: number | undefined;
  /** How long the current borrow has lasted, when borrowed. */
  heldMs: number | undefined;
  /** How long it has been idle, when idle: exact when borrow times are measured, else to within one maintenance interval (never more than the truth). */
  idleMs: number | undefined;
  /** The current borrow's `acquire({ context })`. */
  context: unknown;
  /** The current borrow's owner (with an `ownerScope`). */
  owner: unknown;
  /** Where the current borrow was acquired (with `captureStacks`). */
  stack: string | undefined;
  /** Set when the connection will be retired at its next release, and why. */
  retiring: DestroyReason | null;
  leakReported: boolean;
}
