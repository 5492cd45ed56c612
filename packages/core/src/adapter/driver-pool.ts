import { EventEmitter } from 'node:events';
import type { AcquireOptions, ConnectionPool, PooledConnection, PoolSize, PoolStatistics } from '@pool/core';

/**
 * Events of an EventEmitter, by name: the listener's arguments (`{ acquire: [conn: Conn] }`), as
 * `node:events` types them; `[never]` (the default) allows any event with any arguments.
 */
export type DriverEventMap<E> = Record<keyof E, unknown[]> | [never];

/**
 * The base of an adapter's pool class — the object `createXxxPool()` returns, with the driver's
 * everyday API (`query`, `getConnection`...) on top of a `ConnectionPool`. It holds the engine (`pool`)
 * and the factory, and gives every such class the same lifecycle surface: `use`, `end` / `close` /
 * `await using`, `size`, `statistics`, and a `toString` that names the class, the pool and the factory
 * (whose own `toString` must leave passwords out).
 *
 * It is a real `node:events` `EventEmitter` whose events are the DRIVER's pool events, with the
 * driver's arguments (`pg.Pool`'s `connect`, `acquire`, `release`, `remove`, `error`; mysql2's
 * `connection`, `acquire`, `release`, `enqueue`), so code written for the driver's pool — and
 * `events.once(pool, 'connect')` — keeps working. `E` types them. The engine's own events
 * (`create`, `destroy` with a reason, `createError`, ...) stay on `pool.pool.on(...)`.
 *
 * A subclass that lets `end()` finish queued work first (as `pg.Pool#end` does) borrows through
 * {@link acquireTracked} and ends through {@link drainThenClose}.
 *
 * @example
 * ```ts
 * interface FooPoolEvents {
 *   acquire: [conn: FooConnection];
 * }
 * export class FooPool extends DriverPool<FooConnection, FooFactory, FooPoolEvents> {
 *   constructor(pool: ConnectionPool<FooConnection>, factory: FooFactory) {
 *     super('FooPool', pool, factory);
 *   }
 *   async query(text: string): Promise<FooResult> {
 *     const pooled = await this.acquireTracked();
 *     this.emit('acquire', pooled.connection);
 *     try {
 *       const result = await pooled.connection.query(text);
 *       pooled.release();
 *       return result;
 *     } catch (error) {
 *       pooled.release({ error }); // reported to the pool, for adaptive aging
 *       throw error;
 *     }
 *   }
 * }
 * ```
 */
export abstract class DriverPool<C, F = unknown, E extends DriverEventMap<E> = [never]> extends EventEmitter<E> {
  /** The engine, for everything this class does not wrap (`acquire`, `resize`, `connections()`, its events...). */
  readonly pool: ConnectionPool<C>;
  /** The factory that opens the connections (its `statistics()` has the driver's own figures). */
  readonly factory: F;
  readonly #name: string;
  /** Acquires made through {@link acquireTracked} that have not settled yet. */
  #acquiring = 0;
  #onDrained: (() => void)[] = [];
  #ending = false;

  /**
   * True for an instance of a `DriverPool` subclass, also one whose prototype chain was changed by
   * {@link impersonate} (which takes `DriverPool.prototype` out of it). For subclasses, the usual
   * prototype check.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== DriverPool) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && #name in value;
  }

  /** `name` is the subclass's name, for `toString()` (class names do not survive every bundler). */
  protected constructor(name: string, pool: ConnectionPool<C>, factory: F) {
    super();
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
    return this.end();
  }

  /** `await using pool = createXxxPool(...)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.end();
  }

  /** See `ConnectionPool.size()`. */
  size(): PoolSize {
    return this.pool.size();
  }

  /** See `ConnectionPool.statistics()`. */
  statistics(): PoolStatistics {
    return this.pool.statistics();
  }

  /** True once {@link drainThenClose} began: the subclass refuses new work, queued work still finishes. */
  protected get draining(): boolean {
    return this.#ending;
  }

  /**
   * `pool.acquire(options)`, counted until it settles, so {@link drainThenClose} can wait for it: a
   * caller already waiting for a connection when `end()` is called still gets one.
   */
  protected acquireTracked(options?: AcquireOptions): Promise<PooledConnection<C>> {
    this.#acquiring++;
    return this.pool.acquire(options).then(
      (pooled) => {
        this.#settled();
        return pooled;
      },
      (error: unknown) => {
        this.#settled();
        throw error;
      },
    );
  }

  #settled(): void {
    if (--this.#acquiring > 0 || this.#onDrained.length === 0) return;
    const waiting = this.#onDrained;
    this.#onDrained = [];
    for (const resolve of waiting) resolve();
  }

  /**
   * A graceful end, as `pg.Pool#end`: waits until every acquire made through {@link acquireTracked}
   * has settled (callers queued for a connection are served), then closes the engine, which waits (up to
   * `closeTimeoutMs`) for borrowed connections to come back. The subclass refuses new work once
   * {@link draining} is true. Every call returns a promise that resolves when the pool is closed.
   */
  protected drainThenClose(): Promise<void> {
    this.#ending = true;
    if (this.#acquiring === 0) return this.pool.close();
    return new Promise<void>((resolve) => this.#onDrained.push(resolve)).then(() => this.pool.close());
  }

  /** `Name(pool, factory)`: a short description, never a password. */
  override toString(): string {
    return `${this.#name}(${String(this.pool)}, ${String(this.factory)})`;
  }
}

/**
 * Makes `instanceof Driver` true for the instances of `Facade` (a {@link DriverPool} subclass), for
 * libraries that check it: `@prisma/adapter-pg` and Drizzle test `pool instanceof pg.Pool` and, when it
 * fails, build a pool of their own or run a transaction's statements on different connections. The
 * methods and accessors of the classes between `Facade` and `EventEmitter` (`DriverPool`, and any class
 * in between) are kept, on copies of their prototypes placed above `Driver.prototype`; `Facade` must
 * define every member of `Driver` its users call (the driver's own implementations would run on state
 * that does not exist). `instanceof DriverPool` still holds. Call it once, right after the class.
 *
 * Throws `TypeError` unless `Driver` is an `EventEmitter` class (a driver's pool is one) and `Facade`
 * extends `DriverPool`.
 *
 * @example
 * ```ts
 * export class PgPool extends DriverPool<PgConnection, PgFactory, PgPoolEvents> { ... }
 * impersonate(PgPool, pg.Pool); // new PgPool(...) instanceof pg.Pool === true
 * ```
 */
export function impersonate(Facade: abstract new (...args: never[]) => object, Driver: abstract new (...args: never[]) => object): void {
  const driverPrototype: unknown = Driver.prototype;
  if (!(driverPrototype instanceof EventEmitter)) {
    throw new TypeError(`impersonate: ${Driver.name || 'the driver class'} is not an EventEmitter class`);
  }
  const between: object[] = [];
  for (let p = Object.getPrototypeOf(Facade.prototype) as object | null; p !== EventEmitter.prototype; p = Object.getPrototypeOf(p)) {
    if (p === null || p === Object.prototype) throw new TypeError(`impersonate: ${Facade.name} does not extend DriverPool`);
    between.push(p);
  }
  if (!between.includes(DriverPool.prototype)) throw new TypeError(`impersonate: ${Facade.name} does not extend DriverPool`);
  let top: object = driverPrototype;
  for (const proto of between.reverse()) top = Object.create(top, Object.getOwnPropertyDescriptors(proto)) as object;
  Object.setPrototypeOf(Facade.prototype, top);
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
