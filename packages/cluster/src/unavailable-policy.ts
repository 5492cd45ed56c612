import { now } from '@pool/core';
import type { BudgetContext } from './budget-context.js';
import { BudgetUnavailableError } from './errors.js';
import { type LeaseGroup, settle } from './lease-group.js';
import { DATABASE } from './scopes.js';

/**
 * @internal The `onRedisUnavailable` policy at work while Redis is unreachable: the `'hold'` policy's
 * cap, slots granted without Redis, and the `'strict'` policy giving up its connections once its
 * leases may have expired.
 */
export class UnavailablePolicy {
  readonly #ctx: BudgetContext;
  #strictTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(ctx: BudgetContext) {
    this.#ctx = ctx;
  }

  /** Connections this instance holds in `scope`, leased or not. */
  #localHeld(scope: string): number {
    let n = 0;
    for (const g of this.#ctx.groups.values()) if (g.has(scope)) n += g.open;
    return n;
  }

  /** The 'hold' policy's cap for `scope`. */
  cap(scope: string): number {
    const fallback = this.#ctx.o.fallbackMaxConnections;
    if (fallback !== null) return Math.min(fallback, this.#ctx.limit(scope));
    return this.#ctx.heldAtLoss?.get(scope) ?? 0;
  }

  /** Redis was lost: remembers what this instance legitimately held then (its leases; none before it registered). */
  noteLoss(): void {
    const ctx = this.#ctx;
    if (ctx.heldAtLoss !== null) return;
    const held = new Map<string, number>();
    for (const scope of ctx.allScopes()) {
      let n = 0;
      for (const g of ctx.groups.values()) if (g.has(scope)) n += Math.min(g.ids.length, g.open);
      held.set(scope, ctx.registered ? n : 0);
    }
    ctx.heldAtLoss = held;
  }

  /** Grants queued requests of `group` under the policy while Redis is unreachable. Returns whether it granted any. */
  grantFallback(group: LeaseGroup): boolean {
    const ctx = this.#ctx;
    const mode = ctx.o.onRedisUnavailable;
    if (mode === 'strict') return false;
    let any = false;
    for (const req of group.queue) {
      if (req.settled) continue;
      if (mode === 'hold' && !group.scopes.every((s) => this.#localHeld(s) < this.cap(s))) break;
      group.open++;
      ctx.counters.fallbackGranted++;
      group.refusing = false;
      settle(req);
      any = true;
      if (ctx.events.has('lease')) ctx.events.emit('lease', { tenant: group.tenant, waitMs: now() - req.start, fallback: true });
    }
    return any;
  }

  /** Under 'strict': once the leases may have expired in Redis, stop using their connections. */
  armStrict(): void {
    const ctx = this.#ctx;
    if (this.#strictTimer !== undefined) clearTimeout(this.#strictTimer);
    const fire = (): void => {
      this.#strictTimer = undefined;
      if (ctx.state !== 'degraded') return;
      for (const g of ctx.groups.values()) {
        for (const h of g.pools) {
          if (h.pool.state !== 'open') continue;
          const excess = h.pool.size().total;
          h.shed(0);
          ctx.counters.shed += excess;
          if (ctx.events.has('shed')) ctx.events.emit('shed', { pool: h.pool.name, excess, reason: 'strict' });
        }
      }
    };
    const delay = ctx.validUntil - now();
    if (delay <= 0) {
      fire();
      return;
    }
    this.#strictTimer = setTimeout(fire, delay);
    this.#strictTimer.unref?.();
  }

  /** Redis answers again (or the budget closes): the 'strict' policy's timer stops. */
  disarmStrict(): void {
    if (this.#strictTimer !== undefined) clearTimeout(this.#strictTimer);
    this.#strictTimer = undefined;
  }

  /** The error of a request for a slot abandoned while Redis was unreachable. */
  unavailableError(): BudgetUnavailableError {
    const ctx = this.#ctx;
    const mode = ctx.o.onRedisUnavailable === 'strict' ? 'strict' : 'hold';
    return new BudgetUnavailableError(ctx.name, mode, mode === 'strict' ? 0 : this.cap(DATABASE), ctx.lastError);
  }
}
