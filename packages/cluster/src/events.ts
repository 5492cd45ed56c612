import type { PoolError } from '@pool/core';
import type { RefusalReason } from './errors.js';

/**
 * Where an instance stands with the budget:
 * - `'connecting'`: registering with Redis for the first time;
 * - `'connected'`: every slot it holds is a lease in Redis;
 * - `'recovering'`: re-registering its leases (after an outage, an expired registration, or a check
 *   that found Redis disagreeing); new slots wait until it is done;
 * - `'degraded'`: Redis is unreachable; the `onRedisUnavailable` policy decides about new connections;
 * - `'closed'`.
 */
export type BudgetState = 'connecting' | 'connected' | 'recovering' | 'degraded' | 'closed';

/**
 * The events a {@link ClusterBudget} emits (`budget.on(name, listener)`). Listeners run synchronously;
 * one that throws is reported as an `error` event and never breaks the budget.
 */
export interface ClusterBudgetEventMap {
  /** The instance's standing changed. `error` is the Redis error behind a change to `'degraded'`. */
  state: { from: BudgetState; to: BudgetState; error: unknown };
  /**
   * A slot was granted for a new connection after `waitMs`: by Redis (`fallback: false`), or by the
   * `onRedisUnavailable` policy while Redis was unreachable (`fallback: true`).
   */
  lease: { tenant: string | null; waitMs: number; fallback: boolean };
  /** A request for a slot was refused (it keeps waiting while its pool still needs the connection). */
  refused: { tenant: string | null; reason: RefusalReason; used: number; limit: number };
  /**
   * Connections above what the budget grants this instance are being closed: idle ones now, borrowed
   * ones when released (`reason: 'recovery'` after a re-registration found less room than this instance
   * holds; `'strict'` when the strict policy gave the slots up while Redis was unreachable).
   */
  shed: { pool: string; excess: number; reason: 'recovery' | 'strict' };
  /**
   * Fair sharing: this instance asked the others to shrink (`direction: 'sent'`), or shrank a pool at
   * another instance's request (`'received'`: `closed` idle connections now, and the pool held at
   * `heldAt` connections for `shrinkHoldMs`, or null when it needed no hold).
   */
  shrink:
    | { direction: 'sent'; tenant: string | null; share: number }
    | { direction: 'received'; tenant: string | null; share: number; from: string; pool: string; closed: number; heldAt: number | null };
  /** A problem the budget contained: a Redis failure it works around, a throwing listener, a misuse. */
  error: { error: PoolError };
}

/** The name of a budget event. */
export type ClusterBudgetEventName = keyof ClusterBudgetEventMap;
