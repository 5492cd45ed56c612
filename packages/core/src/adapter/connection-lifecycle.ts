/** Where a driver connection is in its life, as its `toString()` shows it. */
export type ConnectionStatus = 'open' | 'closed' | 'broken';

/**
 * Tracks how a driver connection ends, for the wrapper class an adapter puts around a driver client: did
 * it break on its own (and why), is the factory closing it, has the pool got it yet. A break is reported
 * to the pool (`CreateContext.markBroken`) once, and only after `create()` handed the connection over
 * ({@link markLive}); before that, `create()` sees {@link broken} and fails instead. The end of a
 * connection the factory is closing ({@link markClosing}) is not a break.
 *
 * @example
 * ```ts
 * class FooConnection {
 *   readonly lifecycle: ConnectionLifecycle;
 *   constructor(readonly client: FooClient, markBroken: (error?: unknown) => void) {
 *     this.lifecycle = new ConnectionLifecycle(markBroken);
 *     client.on('error', (error) => this.lifecycle.markBroken(error));
 *     client.on('end', () => this.lifecycle.markBroken(new Error('Connection ended by the server')));
 *   }
 * }
 * // in the factory: lifecycle.markLive() at the end of create(), lifecycle.markClosing() first in close().
 * ```
 */
export class ConnectionLifecycle {
  readonly #report: (error?: unknown) => void;
  #broken = false;
  #brokenError: unknown = undefined;
  #closing = false;
  #live = false;

  /** `report` is the `markBroken` of the `CreateContext` the connection was created with. */
  constructor(report: (error?: unknown) => void) {
    this.#report = report;
  }

  /** True once the connection broke on its own (killed, server restart, network failure). */
  get broken(): boolean {
    return this.#broken;
  }

  /** Why it broke, if it did. */
  get brokenError(): unknown {
    return this.#brokenError;
  }

  /** True once the factory started closing it. */
  get closing(): boolean {
    return this.#closing;
  }

  /** True once `create()` handed it to the pool. */
  get live(): boolean {
    return this.#live;
  }

  /** `'broken'`, `'closed'` (closing or closed) or `'open'`. */
  get status(): ConnectionStatus {
    return this.#broken ? 'broken' : this.#closing ? 'closed' : 'open';
  }

  /** The pool has the connection now: a later break is reported to it. */
  markLive(): void {
    this.#live = true;
  }

  /** The factory is closing the connection: its end, and errors that come with it, are expected. */
  markClosing(): void {
    this.#closing = true;
  }

  /**
   * The connection failed on its own. The first call counts (later ones keep the first error); calls
   * while closing are ignored. Reported to the pool at once when it has the connection.
   */
  markBroken(error: unknown): void {
    if (this.#broken || this.#closing) return;
    this.#broken = true;
    this.#brokenError = error;
    if (this.#live) this.#report(error);
  }
}
