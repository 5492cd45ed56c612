import { now } from './clock.js';
import { ConnectionReleasedError } from './errors.js';
import type { ConnectionFactory } from './factory.js';
import type { Slot } from './slot.js';

/** @internal */
export const kGiveBack: unique symbol = Symbol('pool.giveBack');
/** @internal */
export const kDestroyBorrowed: unique symbol = Symbol('pool.destroyBorrowed');

/** @internal The pool side of a borrow (the pool itself). */
export interface Lender<C> {
  readonly name: string;
  readonly factory: ConnectionFactory<C>;
  [kGiveBack](handle: PooledConnection<C>, slot: Slot<C>, error: unknown): void;
  [kDestroyBorrowed](handle: PooledConnection<C>, slot: Slot<C>, error: unknown): Promise<void>;
}

/** @internal */
export const kSlot: unique symbol = Symbol('pool.slot');
/** @internal */
export const kLender: unique symbol = Symbol('pool.lender');
/** @internal */
export const kRevoke: unique symbol = Symbol('pool.revoke');

/** @internal What an acquire said about its caller; absent for a plain `acquire()`. */
export interface BorrowMeta {
  readonly context: unknown;
  readonly owner: unknown;
  readonly trace: { stack?: string } | undefined;
}

/** Options for {@link PooledConnection.release}. */
export interface ReleaseOptions {
  /**
   * The error the borrower hit while using the connection, if any. It counts against the connection's
   * error rate (`AgingPolicy.Adaptive`) and is reported in the `release` event.
   */
  error?: unknown;
}

/**
 * One borrow of a pooled connection (the seed's `PooledConnectionGuard`). Give it back exactly once:
 * `release()`, `destroy()`, `await using`, or let `pool.use()` do it. After that every accessor throws
 * `ConnectionReleasedError`, so a stale reference can never touch a connection someone else borrowed.
 *
 * @example
 * ```ts
 * await using conn = await pool.acquire();
 * await conn.connection.query('SELECT * FROM users');
 * // released here, also when the query throws
 * ```
 */
export class PooledConnection<C> {
  // Three fields: a handle is allocated per borrow, so it is kept as small as it can be.
  readonly #slot: Slot<C>;
  readonly #meta: BorrowMeta | undefined;
  /** null while the borrow lasts; then how it ended. */
  #ended: string | null = null;

  /** @internal Created by the pool only. */
  constructor(slot: Slot<C>, meta: BorrowMeta | undefined) {
    this.#slot = slot;
    this.#meta = meta;
  }

  /** The `context` given to `acquire()` (for example a partition request). */
  get context(): unknown {
    return this.#meta?.context;
  }

  /** The async task that borrowed the connection, when the pool has an `ownerScope`. */
  get owner(): unknown {
    return this.#meta?.owner;
  }

  /** Where `acquire()` was called, when the pool captures stacks (`captureStacks`); formatted on first read. */
  get stack(): string | undefined {
    return this.#meta?.trace?.stack;
  }

  #live(what: string): Slot<C> {
    if (this.#ended !== null) {
      throw new ConnectionReleasedError(this.#slot.id, `was ${this.#ended}; ${what} is no longer allowed`);
    }
    return this.#slot;
  }

  /** The driver connection. Throws `ConnectionReleasedError` after the borrow ended. */
  get connection(): C {
    return this.#live('using it').connection;
  }

  /** The seed's `connection_mut()`: the same object (JavaScript has no shared/exclusive borrow split). */
  connectionMut(): C {
    return this.connection;
  }

  /** The connection's id, stable for its whole life and unique within its pool. */
  get id(): number {
    return this.#slot.id;
  }

  /** Milliseconds since the connection was opened. */
  get age(): number {
    return now() - this.#slot.createdAt;
  }

  /** Times the underlying connection has been borrowed, this borrow included. */
  get borrows(): number {
    return this.#slot.borrows;
  }

  /** The name of the pool it came from. */
  get poolName(): string {
    return this.#slot.lender.name;
  }

  /** True once released, destroyed or reclaimed. */
  get released(): boolean {
    return this.#ended !== null;
  }

  /**
   * A tag for the connection's prepared state (for example the tenant whose `search_path` it has). An
   * `acquire({ label })` prefers an idle connection with the same label. Kept across borrows, and
   * cleared whenever the pool resets the connection (`factory.reset`), since a reset clears the session
   * state the label describes.
   */
  get label(): string | undefined {
    return this.#slot.label;
  }

  set label(value: string | undefined) {
    if (value !== undefined && typeof value !== 'string') {
      throw new TypeError(`label must be a string or undefined, got ${typeof value}`);
    }
    this.#live('labelling it').label = value;
  }

  /**
   * Gives the connection back to the pool. Pass `{ error }` when the borrower's work on it failed.
   * Throws `ConnectionReleasedError` if this borrow already ended (a double release never hands the
   * connection out twice).
   */
  release(options?: ReleaseOptions): void {
    const slot = this.#live('releasing it again');
    this.#ended = 'released';
    this.#slot.lender[kGiveBack](this, slot, options === undefined ? undefined : options.error);
  }

  /**
   * Ends the borrow and closes the connection instead of reusing it (it is broken, or its session is
   * beyond repair). Resolves when the connection is closed; never rejects.
   */
  destroy(error?: unknown): Promise<void> {
    const slot = this.#live('destroying it');
    this.#ended = 'destroyed';
    return this.#slot.lender[kDestroyBorrowed](this, slot, error);
  }

  /** `await using conn = await pool.acquire()` releases at the end of the scope (no-op if already released). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#ended === null) this.release();
  }

  /** @internal */
  get [kSlot](): Slot<C> {
    return this.#slot;
  }

  /** @internal */
  get [kLender](): Lender<C> {
    return this.#slot.lender;
  }

  /** @internal Ends the borrow from the pool's side (reclaim, forced close). */
  [kRevoke](by: string): boolean {
    if (this.#ended !== null) return false;
    this.#ended = by;
    return true;
  }

  /** A short description, e.g. for logs. */
  toString(): string {
    return `PooledConnection(${this.#slot.lender.name}#${this.#slot.id}${this.#ended === null ? '' : `, ${this.#ended}`})`;
  }
}
