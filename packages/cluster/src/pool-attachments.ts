import { ConnectionPool, InvalidArgumentError } from '@pool/core';
import type { BudgetContext } from './budget-context.js';
import type { LeaseGroup } from './lease-group.js';
import { PoolHandle } from './pool-handle.js';
import type { Registration } from './registration.js';

/**
 * @internal The factories a budget wrapped (and their lease groups), and the pools attached to it:
 * each with the {@link PoolHandle} through which fair sharing and shedding resize it.
 */
export class PoolAttachments {
  readonly #ctx: BudgetContext;
  readonly #registration: Registration;
  readonly #wrappers = new WeakMap<object, LeaseGroup>();
  readonly #handles = new Map<ConnectionPool<unknown>, { group: LeaseGroup; handle: PoolHandle; detach: () => void }>();

  constructor(ctx: BudgetContext, registration: Registration) {
    this.#ctx = ctx;
    this.#registration = registration;
  }

  /** Records that `wrapped` (a factory from `wrap()`) opens connections in `group`. */
  addWrapper(wrapped: object, group: LeaseGroup): void {
    this.#wrappers.set(wrapped, group);
  }

  /** Whether `factory` came from this budget's `wrap()`. */
  isWrapper(factory: object): boolean {
    return this.#wrappers.has(factory);
  }

  /** Attaches `pool` (see `ClusterBudget.attach`); returns the function that detaches it. */
  attach<C>(pool: ConnectionPool<C>): () => void {
    const ctx = this.#ctx;
    if (!(pool instanceof ConnectionPool)) throw new InvalidArgumentError('pool', pool, 'must be a ConnectionPool');
    const group = this.#wrappers.get(pool.factory as object);
    if (group === undefined) {
      throw new InvalidArgumentError('pool', pool.name, `must use a factory returned by this budget's wrap() (budget '${ctx.name}')`);
    }
    const existing = this.#handles.get(pool as ConnectionPool<unknown>);
    if (existing !== undefined) return existing.detach;
    const handle = new PoolHandle(pool as ConnectionPool<unknown>);
    const onClose = (): void => detach();
    const detach = (): void => {
      const entry = this.#handles.get(pool as ConnectionPool<unknown>);
      if (entry === undefined || entry.handle !== handle) return;
      this.#handles.delete(pool as ConnectionPool<unknown>);
      group.pools.delete(handle);
      pool.off('close', onClose);
      handle.detach();
    };
    pool.on('close', onClose);
    group.pools.add(handle);
    this.#handles.set(pool as ConnectionPool<unknown>, { group, handle, detach });
    if (ctx.state === 'connected' && group.open > group.ids.length) this.#registration.settleExcess(group);
    return detach;
  }

  /** Detaches every pool (their own sizes are given back). */
  detachAll(): void {
    for (const { detach } of [...this.#handles.values()]) detach();
  }

  /** The attached pools' names. */
  poolNames(): string[] {
    return [...this.#handles.keys()].map((p) => p.name);
  }
}
