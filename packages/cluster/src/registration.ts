import { now, toPoolError } from '@pool/core';
import type { BudgetContext } from './budget-context.js';
import { BudgetRedisError } from './errors.js';
import type { FairSharing } from './fair-sharing.js';
import type { LeaseGroup } from './lease-group.js';
import type { SlotReturns } from './slot-returns.js';
import type { BudgetMessage, BudgetStore } from './store.js';
import type { UnavailablePolicy } from './unavailable-policy.js';

/**
 * @internal This instance's standing with Redis: the first registration, the heartbeat that renews
 * every lease, losing Redis (`'degraded'`) and re-registering every slot held (a claim) when it
 * answers again or disagrees.
 */
export class Registration {
  readonly #ctx: BudgetContext;
  readonly #policy: UnavailablePolicy;
  readonly #fairSharing: FairSharing;
  readonly #returns: SlotReturns;
  #beatTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(ctx: BudgetContext, policy: UnavailablePolicy, fairSharing: FairSharing, returns: SlotReturns) {
    this.#ctx = ctx;
    this.#policy = policy;
    this.#fairSharing = fairSharing;
    this.#returns = returns;
  }

  /** Follows the connection, subscribes to the budget's channel and registers (the budget's `ready()`). */
  async start(): Promise<void> {
    const ctx = this.#ctx;
    ctx.store.watchConnection((event) => {
      if (ctx.state === 'closed') return;
      if (event === 'lost') {
        if (ctx.state === 'connected') this.failed(new BudgetRedisError('connection', false, new Error('the connection to Redis closed')));
      } else if (ctx.state === 'degraded') void this.recover();
      else if (ctx.state === 'connected') void this.#beat();
    });
    await ctx.store.whenReady(ctx.o.commandTimeoutMs);
    if (ctx.state === 'closed') return;
    const subscribed = ctx.store
      .subscribe((message) => this.#onMessage(message))
      .then(
        () => {
          ctx.subscribed = true;
        },
        (error: unknown) => {
          ctx.report(toPoolError(new BudgetRedisError('subscribe', false, error)));
        },
      );
    await this.recover();
    this.#scheduleBeat();
    // ready() also means the instance hears freed slots announced on the channel, unless subscribing
    // takes longer than a command may (until then, a refused request polls: see LeaseQueue's take round).
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      subscribed,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ctx.o.commandTimeoutMs);
        timer.unref?.();
      }),
    ]);
    clearTimeout(timer);
  }

  /** Stops the heartbeat and the 'strict' policy's timer (the budget closes). */
  stop(): void {
    if (this.#beatTimer !== undefined) clearTimeout(this.#beatTimer);
    this.#policy.disarmStrict();
  }

  /** A Redis call failed: its effect is unknown, and Redis is treated as unreachable until a claim succeeds. */
  failed(error: unknown): void {
    const ctx = this.#ctx;
    ctx.counters.redisErrors++;
    ctx.lastError = error;
    ctx.dirty = true;
    if (ctx.state === 'closed' || ctx.state === 'degraded') return;
    this.#policy.noteLoss();
    ctx.degradedSince = Date.now();
    ctx.setState('degraded', error);
    ctx.report(toPoolError(error));
    if (ctx.o.onRedisUnavailable === 'strict') this.#policy.armStrict();
    this.#scheduleBeat();
  }

  /** Re-registers every slot this instance holds (single flight). */
  recover(): Promise<void> {
    const ctx = this.#ctx;
    ctx.recovering ??= this.#claim().finally(() => {
      ctx.recovering = undefined;
      ctx.wakeAll();
    });
    return ctx.recovering;
  }

  async #claim(): Promise<void> {
    const ctx = this.#ctx;
    if (ctx.closed()) return;
    // A probe while degraded stays 'degraded' (fallback grants pause meanwhile); a resync of a
    // connected instance is 'recovering'.
    if (ctx.state === 'connected') ctx.setState('recovering', undefined);
    // Takes in flight first: the claim must see their outcome.
    while (ctx.inflight > 0) await ctx.inflightWake.wait(ctx.o.commandTimeoutMs);
    if (ctx.closed()) return;
    const scopes = ctx.allScopes();
    const leases: { id: string; scopes: number[] }[] = [];
    const plan: { group: LeaseGroup; ids: string[] }[] = [];
    for (const g of ctx.groups.values()) {
      const indexes = g.scopes.map((s) => scopes.indexOf(s));
      // The slots this instance legitimately held first, then the connections opened without one.
      const ids = g.ids.slice(0, g.open);
      while (ids.length < g.open) ids.push(ctx.nextId());
      for (const id of ids) leases.push({ id, scopes: indexes });
      plan.push({ group: g, ids });
    }
    const sentAt = now();
    let reply: Awaited<ReturnType<BudgetStore['claim']>>;
    try {
      reply = await ctx.store.claim({ knownEpoch: ctx.epoch, ttlMs: ctx.o.leaseTtlMs, scopes: ctx.scopeLimits(scopes), leases });
    } catch (error) {
      if (!ctx.closed()) {
        // Unreachable: stay (or become) degraded, with the cap of the last time Redis answered.
        this.failed(error);
      }
      return;
    }
    if (ctx.closed()) return;
    if (ctx.registered) ctx.counters.recoveries++;
    ctx.registered = true;
    ctx.epoch = reply.epoch;
    ctx.live = reply.live;
    ctx.validUntil = sentAt + ctx.o.leaseTtlMs;
    ctx.lastContactAt = Date.now();
    ctx.dirty = false;
    let k = 0;
    for (const { group, ids } of plan) {
      group.ids = ids.filter(() => reply.granted[k++] === true);
    }
    ctx.heldAtLoss = null;
    ctx.degradedSince = null;
    this.#policy.disarmStrict();
    ctx.setState('connected', undefined);
    for (const g of ctx.groups.values()) {
      // Connections closed while the claim ran give their slots back now.
      this.#returns.reconcile(g);
      this.settleExcess(g);
    }
    ctx.wakeAll();
  }

  /** Sheds `group`'s connections beyond its leases (connected only), or lifts shedding. */
  settleExcess(group: LeaseGroup): void {
    const ctx = this.#ctx;
    if (ctx.state !== 'connected') return;
    let excess = group.open - group.ids.length;
    if (excess <= 0) {
      for (const h of group.pools) h.unshed();
      return;
    }
    ctx.counters.shed += excess;
    for (const h of group.pools) {
      if (excess <= 0) break;
      if (h.pool.state !== 'open') continue;
      const total = h.pool.size().total;
      const k = Math.min(excess, total);
      if (k <= 0) continue;
      h.shed(total - k);
      excess -= k;
      if (ctx.events.has('shed')) ctx.events.emit('shed', { pool: h.pool.name, excess: k, reason: 'recovery' });
    }
  }

  #scheduleBeat(): void {
    const ctx = this.#ctx;
    if (ctx.state === 'closed') return;
    if (this.#beatTimer !== undefined) clearTimeout(this.#beatTimer);
    // While Redis is unreachable, probe more often than the heartbeat.
    const delay = ctx.state === 'degraded' ? Math.min(ctx.o.heartbeatIntervalMs, ctx.o.retryIntervalMs) : ctx.o.heartbeatIntervalMs;
    this.#beatTimer = setTimeout(() => {
      this.#beatTimer = undefined;
      void this.#beat().finally(() => this.#scheduleBeat());
    }, delay);
    this.#beatTimer.unref?.();
  }

  /** One heartbeat: renew every lease (or re-register when needed). */
  async #beat(): Promise<void> {
    const ctx = this.#ctx;
    const state = ctx.state;
    if (state === 'degraded' || (state === 'connected' && ctx.dirty)) {
      await this.recover();
      return;
    }
    if (state !== 'connected') return;
    const quiet = ctx.inflight === 0 && ctx.returning === 0 && ctx.returnQueue.length === 0;
    const ops = ctx.ops;
    let expected = 0;
    for (const g of ctx.groups.values()) expected += g.ids.length;
    const scopes = ctx.allScopes();
    const sentAt = now();
    let reply: Awaited<ReturnType<BudgetStore['renew']>>;
    try {
      reply = await ctx.store.renew({ epoch: ctx.epoch, ttlMs: ctx.o.leaseTtlMs, scopes });
    } catch (error) {
      this.failed(error);
      return;
    }
    if (ctx.state !== 'connected') return;
    if (reply.status !== 'OK') {
      await this.recover();
      return;
    }
    ctx.validUntil = sentAt + ctx.o.leaseTtlMs;
    ctx.lastContactAt = Date.now();
    ctx.live = reply.live;
    scopes.forEach((s, i) => {
      const used = reply.used[i];
      if (used !== undefined) ctx.globalUsed.set(s, used);
    });
    // A shrink request this instance missed on pub/sub (its subscriber was reconnecting) still counts
    // while it is recent.
    for (const request of reply.shrink) {
      if (request !== null && reply.serverNowMs - request.at <= ctx.o.shrinkIntervalMs + ctx.o.heartbeatIntervalMs)
        this.#fairSharing.onShrinkRequest(request);
    }
    // Nothing was sent meanwhile, so Redis must hold exactly our leases; if not (a write lost in a
    // failover, a return that timed out), re-register.
    if (quiet && ops === ctx.ops && reply.leases !== expected) {
      ctx.dirty = true;
      await this.recover();
    }
  }

  #onMessage(message: BudgetMessage): void {
    const ctx = this.#ctx;
    if (ctx.state === 'closed') return;
    if (message.type === 'freed') {
      ctx.wakeAll();
      return;
    }
    this.#fairSharing.onShrinkRequest(message);
  }
}
