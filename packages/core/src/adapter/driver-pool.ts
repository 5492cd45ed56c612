import type { AcquireOptions, ConnectionPool, PoolEventMap, PooledConnection, PoolSize, PoolStatistics } from '@pool/core';

/**
 * The base of an adapter's pool class — the object `createXxxPool()` returns, with the driver's
 * everyday API (`query`, `getConnection`...) on top of a `ConnectionPool`. It holds the engine (`pool`)
 * and the factory, and gives every such class the same lifecycle and observability surface: `use`,
 * `end` / `close` / `await using`, `size`, `statistics`, `on` / `off`, and a `toString` that names the
 * class, the pool and the factory (whose own `toString` must leave passwords out).
 *
 * @example
 * ```ts
 * export class FooPool extends DriverPool<FooConnection, FooFactory> {
 *   constructor(pool: ConnectionPool<FooConnection>, factory: FooFactory) {
 *     super('FooPool', pool, factory);
 *   }
 *   query(text: string): Promise<FooResult> {
 *     return this.use((conn) => conn.query(text)); // a failure is reported to the pool at release
 *   }
 * }
 * ```
 */
export abstract class DriverPool<C, F = unknown> {
  /** The engine, for everything this class does not wrap (`acquire`, `resize`, `connections()`...). */
  readonly pool: ConnectionPool<C>;
  /** The factory that opens the connections (its `statistics()` has the driver's own figures). */
  readonly factory: F;
  readonly #name: string;

  /** `name` is the subclass's name, for `toString()` (class names do not survive every bundler). */
  protected constructor(name: string, pool: ConnectionPool<C>, factory: F) {
    this.#name = name;
    this.pool = pool;
    this.factory = factory;
  }

  /**
   * Runs `fn` with a connection and always gives it back, also when `fn` throws (the error is reported
   * to the pool, for adaptive aging, and rethrown). See `ConnectionPool.use`.
   */
  use<T>(fn: (conn: C, pooled: PooledConnection<C>) => T | Promise<T>, options?: AcquireOptions): Promise<T> {
    return this.pool.use(fn, options);
  }

  /** Closes the pool: waiters fail, idle connections close, borrowed ones when given back. Idempotent. */
  end(): Promise<void> {
    return this.pool.close();
  }

  /** Same as {@link end}. */
  close(): Promise<void> {
    return this.pool.close();
  }

  /** `await using pool = createXxxPool(...)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.pool.close();
  }

  /** See `ConnectionPool.size()`. */
  size(): PoolSize {
    return this.pool.size();
  }

  /** See `ConnectionPool.statistics()`. */
  statistics(): PoolStatistics {
    return this.pool.statistics();
  }

  /** Subscribes to a pool event (see `PoolEventMap`). */
  on<K extends keyof PoolEventMap<C>>(event: K, listener: (payload: PoolEventMap<C>[K]) => void): this {
    this.pool.on(event, listener);
    return this;
  }

  /** Unsubscribes a listener. */
  off<K extends keyof PoolEventMap<C>>(event: K, listener: (payload: PoolEventMap<C>[K]) => void): this {
    this.pool.off(event, listener);
    return this;
  }

  /** `Name(pool, factory)`: a short description, never a password. */
  toString(): string {
    return `${this.#name}(${String(this.pool)}, ${String(this.factory)})`;
  }
}

/**
 * The base of an adapter's borrowed-connection class — what `pool.connect()` / `getConnection()` gives,
 * shaped like the driver's own (`pg.PoolClient`, mysql2's `PoolConnection`). It remembers a call that
 * failed (through {@link track}) and reports it to the pool at {@link release}, so adaptive aging sees
 * the failures of connections used this way too. `await using` releases it.
 *
 * @example
 * ```ts
 * export class FooPoolClient extends DriverPoolClient<FooConnection> {
 *   query(text: string): Promise<FooResult> {
 *     return this.track((conn) => conn.query(text));
 *   }
 * }
 * ```
 */
export class DriverPoolClient<C> {
  /** The pool's handle of this borrow. */
  readonly pooled: PooledConnection<C>;
  #failed = false;
  #failure: unknown = undefined;

  /** Wraps a connection borrowed with `pool.acquire()`. */
  constructor(pooled: PooledConnection<C>) {
    this.pooled = pooled;
  }

  /** The connection (throws `ConnectionReleasedError` after release). */
  get connection(): C {
    return this.pooled.connection;
  }

  /** The error of the last call that failed through {@link track}, if one did. */
  protected get failure(): unknown {
    return this.#failure;
  }

  /** True when a call through {@link track} failed. */
  protected get failed(): boolean {
    return this.#failed;
  }

  /** Runs `call` on the connection; a failure is remembered (for {@link release}) and rethrown. */
  protected async track<T>(call: (conn: C) => Promise<T>): Promise<T> {
    try {
      return await call(this.pooled.connection);
    } catch (error) {
      this.#failed = true;
      this.#failure = error;
      throw error;
    }
  }

  /**
   * Gives the connection back, reporting the last failure, if any. Throws `ConnectionReleasedError`
   * when called twice.
   */
  release(): void {
    this.pooled.release(this.#failed ? { error: this.#failure } : undefined);
  }

  /** `await using client = await pool.connect()` releases it at the end of the scope (unless it was already). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.pooled.released) this.release();
  }
}
