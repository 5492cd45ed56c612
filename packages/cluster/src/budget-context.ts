import { type PoolError, PoolEvents } from '@pool/core';
import type { BudgetState, ClusterBudgetEventMap } from './events.js';
import { LeaseGroup } from './lease-group.js';
import type { ResolvedOptions } from './options.js';
import { DATABASE } from './scopes.js';
import type { BudgetCounters } from './statistics.js';
import type { BudgetStore, ScopeLimit } from './store.js';
import { Wake } from './wake.js';

function emptyCounters(): BudgetCounters {
  return {
    granted: 0,
    fallbackGranted: 0,
    refused: { capacity: 0, fairness: 0, recovering: 0, unavailable: 0 },
    returned: 0,
    abandoned: 0,
    recoveries: 0,
    shed: 0,
    shrinkRequestsSent: 0,
    shrinkRequestsReceived: 0,
    shrinkClosed: 0,
    redisErrors: 0,
  };
}

/**
 * @internal What every part of a {@link ClusterBudget} works on: the options, the store, the events,
 * the lease groups, the instance's standing with Redis and the counters, with the few operations they
 * all share (state changes, wake-ups, scope limits, problem reports).
 */
export class BudgetContext {
  readonly o: ResolvedOptions;
  readonly name: string;
  readonly instanceId: string;
  readonly store: BudgetStore;
  readonly events: PoolEvents<ClusterBudgetEventMap>;
  /** Lease groups by tenant (`''`: the database budget only). */
  readonly groups = new Map<string, LeaseGroup>();
  readonly stateWake = new Wake();
  readonly inflightWake = new Wake();
  readonly counters = emptyCounters();
  readonly #warned = new Set<string>();
  state: BudgetState = 'connecting';
  epoch = '';
  #seq = 0;
  /** Takes in flight (a claim waits for them, so it sees their outcome). */
  inflight = 0;
  /** Returns in flight. */
  returning = 0;
  /** Take and return calls sent so far (the heartbeat's check needs a quiet moment). */
  ops = 0;
  /** Some call's effect on Redis is unknown: the next contact re-registers (claim) instead of renewing. */
  dirty = false;
  /** The re-registration in flight (single flight), if any. */
  recovering: Promise<void> | undefined;
  /** Lease ids waiting to be given back (sent together, after the current task). */
  returnQueue: string[] = [];
  /** Slots held per scope when Redis was lost (the 'hold' policy's default cap); null while connected. */
  heldAtLoss: Map<string, number> | null = null;
  degradedSince: number | null = null;
  lastError: unknown;
  /** Monotonic time until which this instance's leases are surely alive in Redis. */
  validUntil = Number.NEGATIVE_INFINITY;
  lastContactAt: number | null = null;
  live: number | null = null;
  readonly globalUsed = new Map<string, number>();
  registered = false;
  /** Whether the subscriber has joined the budget's channel (freed slots are announced there). */
  subscribed = false;

  constructor(o: ResolvedOptions, instanceId: string, store: BudgetStore) {
    this.o = o;
    this.name = o.name;
    this.instanceId = instanceId;
    this.store = store;
    this.events = new PoolEvents<ClusterBudgetEventMap>((error) => this.report(error));
  }

  /** The lease group of `tenant` (null: the database budget only), created on first use. */
  group(tenant: string | null): LeaseGroup {
    const key = tenant ?? '';
    let g = this.groups.get(key);
    if (g === undefined) {
      g = new LeaseGroup(tenant);
      this.groups.set(key, g);
    }
    return g;
  }

  limit(scope: string): number {
    if (scope === DATABASE) return this.o.maxConnections;
    return this.o.tenants.get(scope.slice(2)) ?? 0;
  }

  scopeLimits(scopes: readonly string[]): ScopeLimit[] {
    return scopes.map((scope) => ({ scope, limit: this.limit(scope) }));
  }

  /** Every scope in use, database first. */
  allScopes(): string[] {
    const out = [DATABASE];
    for (const g of this.groups.values()) for (const s of g.scopes) if (!out.includes(s)) out.push(s);
    return out;
  }

  nextId(): string {
    return (++this.#seq).toString(36);
  }

  /** Reads the state afresh (after an await, TypeScript would keep an earlier narrowing). */
  closed(): boolean {
    return this.state === 'closed';
  }

  wakeAll(): void {
    this.stateWake.notify();
    for (const g of this.groups.values()) g.wake.notify();
  }

  setState(to: BudgetState, error: unknown): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    if (this.events.has('state')) this.events.emit('state', { from, to, error });
    this.wakeAll();
  }

  report(error: PoolError): void {
    if (this.events.has('error')) {
      this.events.emit('error', { error });
      return;
    }
    if (!this.#warned.has(error.code)) {
      this.#warned.add(error.code);
      process.emitWarning(
        `[cluster budget ${this.name}] ${error.message} (further ${error.code} problems are counted in statistics().counters; listen to 'error' to see them)`,
        { code: error.code },
      );
    }
  }
}
