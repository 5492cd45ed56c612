import type { BudgetContext } from './budget-context.js';
import type { LeaseGroup } from './lease-group.js';

/**
 * @internal Gives slots back: lease ids a group holds beyond its open connections go back to Redis,
 * those of one task in a single call.
 */
export class SlotReturns {
  readonly #ctx: BudgetContext;
  readonly #failed: (error: unknown) => void;
  #scheduled = false;

  /** `failed` is told when a return's effect on Redis is unknown. */
  constructor(ctx: BudgetContext, failed: (error: unknown) => void) {
    this.#ctx = ctx;
    this.#failed = failed;
  }

  /** Gives back lease ids `group` holds beyond its open connections, and lifts shedding when done. */
  reconcile(group: LeaseGroup): void {
    const ctx = this.#ctx;
    while (group.ids.length > group.open) {
      const id = group.ids.pop() as string;
      if (ctx.state === 'connected') ctx.returnQueue.push(id);
      else ctx.dirty = true; // unreachable: the next claim leaves it out
    }
    if (ctx.returnQueue.length > 0 && !this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.#flush());
    }
    if (group.open <= group.ids.length) for (const h of group.pools) h.unshed();
  }

  #flush(): void {
    const ctx = this.#ctx;
    this.#scheduled = false;
    const ids = ctx.returnQueue.splice(0);
    if (ids.length === 0) return;
    if (ctx.state !== 'connected') {
      ctx.dirty = true;
      return;
    }
    ctx.ops++;
    ctx.returning++;
    ctx.store
      .giveBack(ids)
      .then((r) => {
        ctx.counters.returned += r.returned;
      })
      .catch((error: unknown) => this.#failed(error))
      .finally(() => {
        ctx.returning--;
      });
  }
}
