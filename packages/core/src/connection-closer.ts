import { runBounded } from './bounded.js';
import { now } from './clock.js';
import { CLOSED, type ConnectionBag, OPEN } from './connection-bag.js';
import { destroyChannel, releaseChannel } from './diagnostics.js';
import { CallbackError, PoolClosedError } from './errors.js';
import type { DestroyReason } from './events.js';
import { kRevoke } from './pooled-connection.js';
import type { Slot } from './slot.js';

function noop(): void {}

/**
 * @internal Taking connections out of the pool (the close side of HikariCP's `PoolBase`): destroying a
 * connection for a reason, closing it within `closeTimeoutMs` whatever the driver does, and shutting
 * the whole pool down.
 */
export class ConnectionCloser<C> {
  readonly #bag: ConnectionBag<C>;
  /** `factory.close()` calls in progress. */
  readonly #closing = new Set<Promise<void>>();
  /** Resolves `close()`'s wait for borrowed connections once none is left. */
  #drained: (() => void) | undefined;
  /** Closes someone awaits (`close()`, `conn.destroy()`), which keep the process alive. */
  #held = 0;
  /** A ref'd timer while {@link #held} > 0: the bounds on those closes sit on an unref'd timer. */
  #keepAlive: ReturnType<typeof setInterval> | undefined;

  constructor(bag: ConnectionBag<C>) {
    this.#bag = bag;
  }

  /** Takes `slot` out of the pool and closes its connection. Resolves when closed; never rejects. */
  destroy(slot: Slot<C>, reason: DestroyReason, error?: unknown): Promise<void> {
    if (slot.state === 'closing') return Promise.resolve();
    const bag = this.#bag;
    const counters = bag.counters;
    bag.idle.remove(slot);
    const handle = slot.handle;
    if (handle !== null) {
      // The pool ends a live borrow (reclaim, forced close): the borrow is over, as a release says.
      handle[kRevoke](reason === 'reclaimed' ? 'reclaimed by the pool' : 'closed by the pool');
      slot.handle = null;
      counters.released++;
      counters.reclaimed++;
      const ended = reason === 'reclaimed' ? 'reclaimed' : 'closed';
      if (bag.onRelease) bag.events.emit('release', { connection: handle, holdMs: now() - slot.borrowedAt, error, ended });
      if (releaseChannel.hasSubscribers) bag.publishRelease(handle, slot, now(), error, ended);
    }
    if (slot.expiry !== null) bag.operations.remove(slot.expiry);
    slot.state = 'closing';
    bag.slots.delete(slot);
    counters.destroyed++;
    counters.destroyedByReason[reason]++;
    if (bag.events.has('destroy')) {
      bag.events.emit('destroy', { connectionId: slot.id, reason, ageMs: now() - slot.createdAt, borrows: slot.borrows, error });
    }
    if (bag.log !== null) bag.log.destroyed(slot.id, reason, now() - slot.createdAt, slot.borrows, error);
    if (destroyChannel.hasSubscribers) {
      const ageMs = now() - slot.createdAt;
      destroyChannel.publish({ pool: bag.name, connectionId: slot.id, reason, ageMs, borrows: slot.borrows, error });
    }
    if ((reason === 'validation' || reason === 'broken') && slot.healthEpoch === bag.opener.healthEpoch) {
      // Nothing has been healthy since this connection opened: new connections are bad (the database
      // accepts connects but fails them), so replacing it at once would spin. Back off as for a failed create.
      bag.opener.backOff(slot.createdAt);
    }
    // A connection that died (broken), failed its reset, or that its borrower destroyed over an error
    // (pg.Pool's release(err)) may mean the server went away: connect one at a time until one succeeds.
    if (reason === 'broken' || reason === 'reset' || (reason === 'destroyed' && error !== undefined)) bag.opener.suspect();
    const closed = this.#closeConnection(slot.connection, slot.id);
    if (bag.state === OPEN) bag.opener.fill();
    else this.checkDrained();
    return closed;
  }

  /**
   * Keeps the process alive until `work` settles. The bounds on closes (`closeTimeoutMs`) run on the
   * pool's unref'd timer so that background closes never hold a process; a close the caller awaits must,
   * or Node exits mid-await when the driver's close hangs with nothing else pending (exit 13 in ESM, the
   * rest of the program silently skipped in CommonJS). One ref'd timer serves every such close.
   */
  holdWhile<T>(work: Promise<T>): Promise<T> {
    if (this.#held++ === 0) this.#keepAlive = setInterval(noop, 1_000_000_000);
    const release = (): void => {
      if (--this.#held === 0) {
        clearInterval(this.#keepAlive);
        this.#keepAlive = undefined;
      }
    };
    work.then(release, release);
    return work;
  }

  /** Closes a connection the pool never adopted (it arrived after its creation was given up). */
  closeQuietly(conn: C): void {
    void this.#closeConnection(conn, undefined);
  }

  #closeConnection(conn: C, id: number | undefined): Promise<void> {
    const bag = this.#bag;
    const factory = bag.factory;
    const bound = Math.max(1, bag.config.closeTimeoutMs);
    const p = runBounded('close', bound, (ctx) => factory.close(conn, ctx), { scheduler: bag.operations }).then((r) => {
      this.#closing.delete(p);
      if (!r.ok) {
        const which = id === undefined ? 'an abandoned connection' : `connection ${id}`;
        bag.report(new CallbackError('ERR_POOL_FACTORY', `factory.close() failed for ${which}`, r.error));
      }
    });
    this.#closing.add(p);
    return p;
  }

  /** Ends `close()`'s wait for borrowed connections once nothing is open or being opened. */
  checkDrained(): void {
    if (this.#drained !== undefined && this.#bag.slots.size === 0 && this.#bag.opener.pending === 0) this.#drained();
  }

  /**
   * The body of `close()` (the pool is already `closing`): fails the waiters, abandons creations,
   * closes idle connections, waits up to `closeTimeoutMs` for borrowed ones, closes the rest.
   */
  async shutDown(): Promise<void> {
    const bag = this.#bag;
    bag.suspended = false;
    bag.failAll(new PoolClosedError('The pool was closed while waiting'));
    bag.opener.stop(new PoolClosedError('The pool closed while this connection was being opened'));
    for (const slot of bag.idle.oldestFirst()) this.destroy(slot, 'closed');
    if (bag.slots.size > 0 || bag.opener.pending > 0) {
      const drained = new Promise<void>((resolve) => {
        this.#drained = resolve;
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waited = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, bag.config.closeTimeoutMs);
      });
      await Promise.race([drained, waited]);
      clearTimeout(timer);
      this.#drained = undefined;
      for (const slot of [...bag.slots]) this.destroy(slot, 'closed');
    }
    while (this.#closing.size > 0) await Promise.all(this.#closing);
    bag.deadlines.clear();
    bag.state = CLOSED;
    if (bag.events.has('close')) bag.events.emit('close', {});
  }
}
