import { now, type PoolError } from '@pool/core';
import type { BudgetContext } from './budget-context.js';
import { BudgetClosedError, BudgetExhaustedError, type RefusalReason } from './errors.js';
import type { FairSharing } from './fair-sharing.js';
import { type LeaseGroup, type LeaseRequest, settle } from './lease-group.js';
import type { Registration } from './registration.js';
import { DATABASE } from './scopes.js';
import type { SlotReturns } from './slot-returns.js';
import type { BudgetStore } from './store.js';
import type { UnavailablePolicy } from './unavailable-policy.js';

/** Slots asked for in one script call. */
const MAX_BATCH = 16;
/** How soon a refused request asks again while the channel that announces freed slots is not subscribed yet. */
const UNSUBSCRIBED_RETRY_MS = 100;

function jitter(ms: number): number {
  return ms * (0.8 + Math.random() * 0.4);
}

/**
 * @internal Slots for new connections: each group's queue of creates waiting for a slot, served by
 * batched takes from Redis (or by the fallback policy while Redis is unreachable), refusals and their
 * retries, and the slot going back when the connection closes.
 */
export class LeaseQueue {
  readonly #ctx: BudgetContext;
  readonly #registration: Registration;
  readonly #policy: UnavailablePolicy;
  readonly #returns: SlotReturns;
  readonly #fairSharing: FairSharing;

  constructor(ctx: BudgetContext, registration: Registration, policy: UnavailablePolicy, returns: SlotReturns, fairSharing: FairSharing) {
    this.#ctx = ctx;
    this.#registration = registration;
    this.#policy = policy;
    this.#returns = returns;
    this.#fairSharing = fairSharing;
  }

  /** Waits for a slot for `group` (bounded by `signal`); on success the slot counts in `group.open`. */
  lease(group: LeaseGroup, signal: AbortSignal): Promise<void> {
    const ctx = this.#ctx;
    if (ctx.state === 'closed') return Promise.reject(new BudgetClosedError(ctx.name));
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        if (req.settled) return;
        req.settled = true;
        ctx.counters.abandoned++;
        reject(signal.reason);
      };
      const req: LeaseRequest = {
        start: now(),
        settled: false,
        resolve,
        reject,
        cleanup: () => signal.removeEventListener('abort', onAbort),
      };
      signal.addEventListener('abort', onAbort, { once: true });
      group.queue.push(req);
      void this.#pump(group);
    });
  }

  /** A connection of `group` closed (or its creation failed): its slot goes back. */
  unlease(group: LeaseGroup): void {
    const ctx = this.#ctx;
    group.open = Math.max(0, group.open - 1);
    // While re-registering, the claim decides; surplus is returned once it answered.
    if (ctx.state === 'recovering' || ctx.state === 'connecting') return;
    this.#returns.reconcile(group);
    if (ctx.state === 'degraded') ctx.wakeAll();
  }

  /** Fails every waiting request with `BudgetClosedError` (the budget closes). */
  closeAll(): void {
    const ctx = this.#ctx;
    for (const g of ctx.groups.values()) for (const req of g.queue.splice(0)) settle(req, new BudgetClosedError(ctx.name));
  }

  /** Serves `group`'s queue: one take in flight at a time per group, batched. */
  async #pump(group: LeaseGroup): Promise<void> {
    const ctx = this.#ctx;
    if (group.pumping) {
      group.wake.notify();
      return;
    }
    group.pumping = true;
    try {
      for (;;) {
        group.prune();
        if (group.queue.length === 0) return;
        const state = ctx.state;
        if (state === 'closed') {
          for (const req of group.queue.splice(0)) settle(req, new BudgetClosedError(ctx.name));
          return;
        }
        if (state === 'connecting' || state === 'recovering' || (state === 'degraded' && ctx.recovering !== undefined)) {
          await ctx.stateWake.wait(ctx.o.retryIntervalMs);
          continue;
        }
        if (state === 'degraded') {
          if (this.#policy.grantFallback(group)) continue;
          this.#refused(group, 'unavailable');
          await group.wake.wait(jitter(ctx.o.retryIntervalMs));
          this.#abandonIfUnneeded(group, () => this.#policy.unavailableError());
          continue;
        }
        await this.#takeRound(group);
      }
    } finally {
      group.pumping = false;
    }
  }

  /** One take for the head of `group`'s queue (connected). */
  async #takeRound(group: LeaseGroup): Promise<void> {
    const ctx = this.#ctx;
    const batch = group.queue.slice(0, MAX_BATCH);
    const ids = batch.map(() => ctx.nextId());
    const scopes = ctx.scopeLimits(group.scopes);
    // A slot announced free while this take is on its way (the announcement comes on another
    // connection and can arrive before the refusal) must not leave the group asleep until the retry.
    const seen = group.wake.notified;
    ctx.inflight++;
    ctx.ops++;
    let reply: Awaited<ReturnType<BudgetStore['take']>>;
    try {
      reply = await ctx.store.take({
        epoch: ctx.epoch,
        ttlMs: ctx.o.leaseTtlMs,
        wantTtlMs: 3 * ctx.o.retryIntervalMs,
        shrinkGapMs: ctx.o.shrinkIntervalMs,
        scopes,
        ids,
      });
    } catch (error) {
      this.#registration.failed(error);
      return;
    } finally {
      ctx.inflight--;
      if (ctx.inflight === 0) ctx.inflightWake.notify();
    }
    if (reply.status !== 'OK') {
      void this.#registration.recover();
      return;
    }
    ctx.live = reply.live;
    group.scopes.forEach((s, i) => {
      const used = reply.used[i];
      if (used !== undefined) ctx.globalUsed.set(s, used);
    });
    let orphaned = false;
    for (let i = 0; i < reply.granted; i++) {
      const req = batch[i] as LeaseRequest;
      group.ids.push(ids[i] as string);
      ctx.counters.granted++;
      if (req.settled) {
        orphaned = true; // its creation gave up meanwhile: the slot goes straight back
        continue;
      }
      group.open++;
      group.refusing = false;
      settle(req);
      if (ctx.events.has('lease')) ctx.events.emit('lease', { tenant: group.tenant, waitMs: now() - req.start, fallback: false });
    }
    if (orphaned || ctx.state !== 'connected') this.#returns.reconcile(group);
    if (reply.granted >= batch.length) return;
    const reason = reply.reason === '' ? 'capacity' : reply.reason;
    if (reply.shrinkRequested) {
      ctx.counters.shrinkRequestsSent++;
      if (ctx.events.has('shrink'))
        ctx.events.emit('shrink', { direction: 'sent', tenant: group.tenant, share: this.#fairSharing.share(group) });
    }
    this.#refused(group, reason);
    let delay = reason === 'recovering' ? Math.min(Math.max(reply.retryMs, 10), ctx.o.retryIntervalMs) : jitter(ctx.o.retryIntervalMs);
    // Until the channel is subscribed, a freed slot cannot wake this instance: ask again soon instead.
    if (!ctx.subscribed) delay = Math.min(delay, UNSUBSCRIBED_RETRY_MS);
    await group.wake.wait(delay, seen);
    this.#abandonIfUnneeded(group, () => this.#exhaustedError(group, reason));
  }

  #refused(group: LeaseGroup, reason: RefusalReason): void {
    const ctx = this.#ctx;
    if (group.refusing) return;
    group.refusing = true;
    ctx.counters.refused[reason]++;
    if (ctx.events.has('refused')) {
      const scope = this.#blockingScope(group);
      ctx.events.emit('refused', {
        tenant: group.tenant,
        reason,
        used: ctx.globalUsed.get(scope) ?? -1,
        limit: ctx.limit(scope),
      });
    }
  }

  /** The scope that is (probably) full: the tenant's when it is at its limit, else the database's. */
  #blockingScope(group: LeaseGroup): string {
    const ctx = this.#ctx;
    for (const s of group.scopes) {
      if (s !== DATABASE && (ctx.globalUsed.get(s) ?? 0) >= ctx.limit(s)) return s;
    }
    return DATABASE;
  }

  #exhaustedError(group: LeaseGroup, reason: Exclude<RefusalReason, 'unavailable'>): BudgetExhaustedError {
    const ctx = this.#ctx;
    const scope = this.#blockingScope(group);
    return new BudgetExhaustedError({
      budget: ctx.name,
      tenant: scope === DATABASE ? null : scope.slice(2),
      reason,
      used: ctx.globalUsed.get(scope) ?? -1,
      limit: ctx.limit(scope),
    });
  }

  /**
   * Requests of `group` beyond what its attached pools still need (a waiting caller each, plus what
   * they lack of `minSize`) fail with `makeError()`: the pool records a failed creation (the cause its
   * next timed-out callers see) instead of holding a ticket for a slot nobody wants.
   */
  #abandonIfUnneeded(group: LeaseGroup, makeError: () => PoolError): void {
    if (group.pools.size === 0) return;
    // Connections the attached pools still want: one per waiting caller, plus what they lack of minSize.
    let needed = 0;
    for (const h of group.pools) {
      const pool = h.pool;
      if (pool.state !== 'open') continue;
      const s = pool.size();
      needed += s.waiting + Math.max(0, h.minSize - s.total);
    }
    group.prune();
    const extra = group.queue.length - needed;
    if (extra <= 0) return;
    // The newest requests go: the older ones have waited longest for their slot.
    const error = makeError();
    for (const req of group.queue.splice(group.queue.length - extra, extra)) {
      this.#ctx.counters.abandoned++;
      settle(req, error);
    }
    if (group.queue.length === 0) group.refusing = false;
  }
}
