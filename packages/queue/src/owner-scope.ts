import { AsyncLocalStorage } from 'node:async_hooks';
import type { OwnerScope } from '@pool/core';

let taskCounter = 0;

/**
 * One async task, as an {@link AsyncOwnerScope} sees it: the value a pool records as `waiter.owner`
 * and `pooledConnection.owner`. A task started inside another links to it through `parent`, so a
 * connection held by an outer `pool.use()` belongs to the same chain as the nested acquire below it.
 */
export class TaskScope {
  /** Unique within the process. */
  readonly id: number;
  /** The task this one was started inside, if any. */
  readonly parent: TaskScope | null;
  /** A name given to `run()`, for reports. */
  readonly name: string | undefined;
  /** How many tasks this one is nested in (0 for an outermost task). */
  readonly depth: number;

  /** Made by {@link AsyncOwnerScope.run}; construct one yourself only for an `OwnerScope` of your own. */
  constructor(parent: TaskScope | null, name?: string) {
    this.id = ++taskCounter;
    this.parent = parent;
    this.name = name;
    this.depth = parent === null ? 0 : parent.depth + 1;
  }

  /** The outermost task this one runs inside (itself when it has no parent). */
  get root(): TaskScope {
    let t: TaskScope = this;
    while (t.parent !== null) t = t.parent;
    return t;
  }

  /** True when `other` is this task or one it runs inside. */
  isWithin(other: TaskScope): boolean {
    for (let t: TaskScope | null = this; t !== null; t = t.parent) if (t === other) return true;
    return false;
  }

  /** For example `task #7 'checkout' (inside task #3)`. */
  toString(): string {
    const label = this.name === undefined ? `task #${this.id}` : `task #${this.id} '${this.name}'`;
    return this.parent === null ? label : `${label} (inside task #${this.parent.id})`;
  }
}

/**
 * An `OwnerScope` for `@pool/core` built on `AsyncLocalStorage`: tells the pool which async task calls
 * `acquire()`. `pool.use(fn)` runs `fn` as a new task nested in the caller's; `run(fn)` starts one
 * explicitly (wrap each request handler or job in it). An acquire made outside any task has no owner.
 *
 * `DeadlockDetector` creates one for you (`detector.ownerScope`); use this class directly only to
 * record owners without detection (they appear in `pool.connections()` and leak reports).
 *
 * @example
 * ```ts
 * const ownerScope = new AsyncOwnerScope();
 * const pool = await ConnectionPool.create(config, factory, { ownerScope });
 * await ownerScope.run(() => handleRequest(req), 'GET /orders');
 * ```
 */
export class AsyncOwnerScope implements OwnerScope {
  readonly #storage = new AsyncLocalStorage<TaskScope>();

  /** The task running now, or `undefined` outside any task. */
  current(): TaskScope | undefined {
    return this.#storage.getStore();
  }

  /** Runs `fn` as a new task, nested in the current one; returns what `fn` returns. */
  run<T>(fn: () => T, name?: string): T {
    return this.#storage.run(new TaskScope(this.#storage.getStore() ?? null, name), fn);
  }
}
