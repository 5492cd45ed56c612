import type { BudgetContext } from './budget-context.js';
import type { LeaseGroup } from './lease-group.js';
import { DATABASE } from './scopes.js';
import type { ShrinkRequest } from './store.js';

/**
 * @internal Fair sharing: an instance refused a slot below its share asks the others to shrink (the
 * take script publishes the request); this side computes the share and acts on requests received.
 */
export class FairSharing {
  readonly #ctx: BudgetContext;
  /** Server time of the last shrink request acted on, per scope. */
  readonly #shrinkSeen = new Map<string, number>();

  constructor(ctx: BudgetContext) {
    this.#ctx = ctx;
  }

  /** `group`'s fair share of its narrowest scope: the limit over the live instances. */
  share(group: LeaseGroup): number {
    const live = Math.max(1, this.#ctx.live ?? 1);
    const scope = group.scopes[group.scopes.length - 1] as string;
    return Math.max(1, Math.floor(this.#ctx.limit(scope) / live));
  }

  /** Another instance, below its share, asks those above it to shrink. */
  onShrinkRequest(message: ShrinkRequest): void {
    const ctx = this.#ctx;
    if (message.from === ctx.instanceId || !ctx.o.fairSharing || ctx.state !== 'connected') return;
    const scope = message.scope;
    // The same request may arrive twice (pub/sub and the heartbeat): act on each once.
    if (message.at <= (this.#shrinkSeen.get(scope) ?? Number.NEGATIVE_INFINITY)) return;
    this.#shrinkSeen.set(scope, message.at);
    if (scope !== DATABASE && !scope.startsWith('t:')) return;
    ctx.counters.shrinkRequestsReceived++;
    let held = 0;
    for (const g of ctx.groups.values()) if (g.has(scope)) held += g.ids.length;
    let surplus = held - message.share;
    if (surplus <= 0) return;
    for (const g of ctx.groups.values()) {
      if (!g.has(scope)) continue;
      for (const h of g.pools) {
        if (surplus <= 0) return;
        if (h.pool.state !== 'open') continue;
        const closed = h.closeIdle(surplus);
        surplus -= closed;
        ctx.counters.shrinkClosed += closed;
        let heldAt: number | null = null;
        if (surplus > 0 && ctx.o.shrinkHoldMs > 0) {
          // Busy above its share: keep the pool smaller for a while, so borrowed connections above it
          // close when released and their slots reach the instance that asked.
          const total = h.pool.size().total;
          const k = Math.min(surplus, total - h.minSize);
          if (k > 0) {
            heldAt = total - k;
            h.hold(heldAt, ctx.o.shrinkHoldMs);
            surplus -= k;
          }
        }
        if (ctx.events.has('shrink')) {
          ctx.events.emit('shrink', {
            direction: 'received',
            tenant: scope === DATABASE ? null : scope.slice(2),
            share: message.share,
            from: message.from,
            pool: h.pool.name,
            closed,
            heldAt,
          });
        }
      }
    }
  }
}
