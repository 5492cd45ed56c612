import type { BudgetState } from './events.js';
import type { RedisUnavailablePolicy } from './options.js';

/** One scope's figures (the database budget, or one tenant's). */
export interface ScopeStatistics {
  /** The global limit. */
  limit: number;
  /** Slots this instance holds as leases in Redis. */
  held: number;
  /** Connections this instance has open or is opening in this scope (leased or not). */
  open: number;
  /** Connections open beyond this instance's leases: granted by the fallback policy while Redis was unreachable, or awaiting shedding. */
  unleased: number;
  /** Slots in use across the cluster, as of the last contact with Redis (null before the first). */
  globalUsed: number | null;
  /** Requests for a slot waiting right now. */
  waiting: number;
}

/** Counters since the budget was created. */
export interface BudgetCounters {
  /** Slots granted by Redis. */
  granted: number;
  /** Slots granted by the fallback policy while Redis was unreachable. */
  fallbackGranted: number;
  /** Refusals, by reason (one per refused request round, not per retry). */
  refused: { capacity: number; fairness: number; recovering: number; unavailable: number };
  /** Slots given back to Redis. */
  returned: number;
  /** Requests for a slot abandoned because their pool no longer needed the connection, or their creation was aborted. */
  abandoned: number;
  /** Re-registrations (after an outage, an expired registration, or a disagreement found by the heartbeat). */
  recoveries: number;
  /** Connections found above the granted slots and shed (closed now or when released). */
  shed: number;
  /** Shrink requests this instance caused, and received from others. */
  shrinkRequestsSent: number;
  shrinkRequestsReceived: number;
  /** Idle connections closed at another instance's request. */
  shrinkClosed: number;
  /** Redis calls that failed or timed out. */
  redisErrors: number;
}

/**
 * A cluster budget's figures as this instance sees them: plain, JSON-safe data (what a management API
 * serves). Reading it makes no Redis call; `globalUsed` and `instances` are as of the last contact.
 */
export interface ClusterBudgetStatistics {
  budget: string;
  instanceId: string;
  state: BudgetState;
  /** The `onRedisUnavailable` policy. */
  policy: RedisUnavailablePolicy;
  /** The database budget. */
  database: ScopeStatistics;
  /** One entry per tenant with a global limit. */
  tenants: Record<string, ScopeStatistics>;
  /** Live instances in the budget as of the last contact (null before the first). */
  instances: number | null;
  /** Epoch ms of the last successful contact with Redis, or null. */
  lastContactAt: number | null;
  /** Epoch ms since when Redis has been unreachable, or null. */
  degradedSince: number | null;
  /**
   * Under `'hold'`, while degraded: connections this instance may hold (its fallback cap), else null.
   */
  fallbackCap: number | null;
  leaseTtlMs: number;
  heartbeatIntervalMs: number;
  /** Pools attached to the budget (by name). */
  pools: string[];
  counters: BudgetCounters;
}

/** One instance in a {@link BudgetSnapshot}. */
export interface InstanceSnapshot {
  id: string;
  /** How long until its leases expire unless renewed (Redis server time). */
  expiresInMs: number;
  /** Leases it holds in the database budget. */
  held: number;
  /** Leases it holds per tenant. */
  tenants: Record<string, number>;
}

/**
 * The whole budget as Redis holds it right now (`budget.inspect()`): every live instance and its
 * leases. Expired instances are swept first.
 */
export interface BudgetSnapshot {
  budget: string;
  /** Redis server time of the snapshot, epoch ms. */
  serverTime: number;
  /** The state's epoch: changes when Redis lost the budget's state. */
  epoch: string;
  /** While > 0, new slots are refused so instances can re-register (after Redis lost its state). */
  recoveringForMs: number;
  /** Slots in use in the database budget, across the cluster. */
  used: number;
  /** Slots in use per tenant, across the cluster. */
  tenantsUsed: Record<string, number>;
  instances: InstanceSnapshot[];
  /** Instances waiting for a slot (database budget `tenant: null`) and until when they are counted as waiting. */
  waiting: { instance: string; tenant: string | null; forMs: number }[];
}
