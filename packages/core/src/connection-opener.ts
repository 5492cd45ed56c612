import { agingLifetimeMs } from './aging-policy.js';
import { type BoundedOperation, type Expirable, runBounded } from './bounded.js';
import { now } from './clock.js';
import { type ConnectionBag, OPEN } from './connection-bag.js';
import type { DeadlineEntry } from './deadline-queue.js';
import { createChannel } from './diagnostics.js';
import { CallbackError, ConnectionCreateError, type PoolError } from './errors.js';
import { Slot } from './slot.js';

/** With `createRetryDelayMs: 0`, attempts start at least this far apart (ms) while connects fail (unless the probe is off). */
const MIN_ATTEMPT_SPACING_MS = 100;

/** A connection's lifetime deadline, kept on the pool's operations queue (one timer for all). */
class LifetimeEntry implements Expirable {
  deadline = 0;
  dlPrev: DeadlineEntry | null = null;
  dlNext: DeadlineEntry | null = null;
  dlLane: unknown = null;
  constructor(readonly expire: () => void) {}
}

/**
 * @internal Opening connections (the create side of HikariCP's `PoolBase`, and its fill): how many
 * to open for the waiters and for `minSize` within `maxSize` (or the limit), the creation throttle, exponential backoff
 * after failures, bounded `factory.create()` calls, and the warm-up of `ConnectionPool.create`.
 */
export class ConnectionOpener<C> {
  readonly #bag: ConnectionBag<C>;
  /** Creations in progress (abandoned on close), with when each began. */
  readonly #creations = new Map<BoundedOperation<unknown>, number>();
  /** Connections being created (they count against `maxSize`). */
  pending = 0;
  /** The error of the last failed creation, until a creation succeeds. */
  lastCreateError: unknown = undefined;
  /** Whether the factory called {@link lastCreateError} fatal (`classifyCreateError`). */
  lastCreateFatal = false;
  /** Bumped whenever a connection proves healthy (validated, or released without error). */
  healthEpoch = 0;
  #nextConnectionId = 0;
  /** A connection was cut (retired as `broken`) and no connect has succeeded since: connect one at a time. */
  #suspect = false;
  #consecutiveFailures = 0;
  #lastFailureAt = Number.NEGATIVE_INFINITY;
  #backoffUntil = 0;
  /** When the last `factory.create()` started (probes are spaced from it). */
  #lastAttemptAt = Number.NEGATIVE_INFINITY;
  #tokens: number;
  #tokensAt: number;
  #fillTimer: ReturnType<typeof setTimeout> | undefined;
  #fillAt = Number.POSITIVE_INFINITY;

  constructor(bag: ConnectionBag<C>) {
    this.#bag = bag;
    this.#tokens = bag.config.creationThrottle ?? 0;
    this.#tokensAt = now();
  }

  /** How long the oldest creation in progress has been running, in ms; undefined when none is. */
  oldestPendingMs(): number | undefined {
    let oldest = Number.POSITIVE_INFINITY;
    for (const start of this.#creations.values()) if (start < oldest) oldest = start;
    return oldest === Number.POSITIVE_INFINITY ? undefined : now() - oldest;
  }

  /** A connection proved healthy: the failure streak is over. */
  healthy(): void {
    this.healthEpoch++;
    this.#consecutiveFailures = 0;
  }

  /**
   * A connection was cut by the server or the network (retired as `broken`): the database may be going
   * away, so until a connect succeeds only one is made at a time. A restart that cuts every connection
   * then meets one connect, not one per waiting caller; a single killed session is replaced as before.
   */
  suspect(): void {
    this.#suspect = true;
  }

  /** Starts creations for waiters and for `minSize`, within the capacity, backoff and throttle. */
  fill(): void {
    const bag = this.#bag;
    if (bag.state !== OPEN) return;
    const cfg = bag.config;
    const open = bag.slots.size + this.pending;
    const room = bag.capacity - open;
    if (room <= 0) return;
    const forWaiters = bag.suspended ? 0 : bag.queue.size - this.pending;
    const forMinimum = cfg.minSize - open;
    let want = Math.min(room, Math.max(forWaiters, forMinimum));
    while (want-- > 0 && this.#mayCreate()) void this.create();
  }

  /** Stops the retry timer and abandons every creation in progress (the pool is closing). */
  stop(error: PoolError): void {
    if (this.#fillTimer !== undefined) clearTimeout(this.#fillTimer);
    for (const op of [...this.#creations.keys()]) op.abandon(error);
  }

  /**
   * When the next connect may start after a failed one. While callers wait (`forCallers`), a probe is
   * due `createProbeIntervalMs` after the last attempt, even if the backoff runs longer; a fatal error,
   * or no probe interval, leaves only the backoff.
   */
  #nextAttemptAt(forCallers: boolean): number {
    const interval = this.#bag.config.createProbeIntervalMs;
    if (!forCallers || interval === null || this.lastCreateFatal) return this.#backoffUntil;
    return Math.min(this.#backoffUntil, this.#lastAttemptAt + interval);
  }

  #mayCreate(): boolean {
    const t = now();
    const bag = this.#bag;
    if (this.lastCreateError !== undefined) {
      // Connecting fails: one attempt at a time (its end calls fill() again), on the probe interval while
      // callers wait, else on the backoff. The first success ends it and opens the rest at once.
      if (this.pending > 0) return false;
      // `createRetryDelayMs: 0` (retry at the next request, as pg.Pool does): attempts still start at
      // most once per MIN_ATTEMPT_SPACING_MS while they fail; a caller that retries at once waits for
      // that slot (it is not refused), and a server that refuses in a millisecond meets no connect storm.
      const cfg = bag.config;
      const spacing =
        cfg.createRetryDelayMs === 0 && !this.lastCreateFatal && cfg.createProbeIntervalMs !== null ? MIN_ATTEMPT_SPACING_MS : 0;
      const at = Math.max(this.#nextAttemptAt(!bag.suspended && bag.queue.size > 0), this.#lastAttemptAt + spacing);
      if (t < at) {
        this.#scheduleFill(at);
        return false;
      }
    } else if (t < this.#backoffUntil) {
      this.#scheduleFill(this.#backoffUntil);
      return false;
    } else if (this.#suspect && this.pending > 0) {
      return false; // its end calls fill() again
    }
    const rate = bag.config.creationThrottle;
    if (rate === null) return true;
    this.#tokens = Math.min(rate, this.#tokens + ((t - this.#tokensAt) * rate) / 1000);
    this.#tokensAt = t;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    this.#scheduleFill(t + ((1 - this.#tokens) * 1000) / rate);
    return false;
  }

  #scheduleFill(at: number): void {
    if (this.#fillTimer !== undefined && this.#fillAt <= at) return;
    if (this.#fillTimer !== undefined) clearTimeout(this.#fillTimer);
    this.#fillAt = at;
    this.#fillTimer = setTimeout(
      () => {
        this.#fillTimer = undefined;
        this.#fillAt = Number.POSITIVE_INFINITY;
        this.fill();
      },
      Math.max(0, Math.ceil(at - now())),
    );
    this.#fillTimer.unref?.();
  }

  /** Opens one connection. Resolves true on success, or the error. Never rejects. */
  create(): Promise<true | unknown> {
    const bag = this.#bag;
    this.pending++;
    const start = now();
    this.#lastAttemptAt = start;
    let slot: Slot<C> | undefined;
    let brokenEarly: unknown;
    const markBroken = (error?: unknown): void => {
      const why = error ?? new Error('connection reported broken by its factory');
      if (slot !== undefined) this.#onBroken(slot, why);
      else brokenEarly = why;
    };
    const factory = bag.factory;
    let op: BoundedOperation<C> | undefined;
    return runBounded<C>(
      'create',
      bag.config.createTimeoutMs,
      (ctx) => factory.create(ctx),
      // A connection that arrives after the pool gave up on it is unwanted, but never leaked.
      { scheduler: bag.operations, start, markBroken, onLate: (conn) => bag.closer.closeQuietly(conn) },
      (started) => {
        op = started;
        this.#creations.set(started as BoundedOperation<unknown>, start);
      },
    ).then((r) => {
      this.pending--;
      this.#creations.delete(op as BoundedOperation<unknown>);
      if (!r.ok) {
        const error = r.timedOut
          ? new ConnectionCreateError(`factory.create() did not finish within ${bag.config.createTimeoutMs} ms`, r.error)
          : r.error;
        this.#createFailed(error, start, !r.timedOut && bag.state === OPEN && this.#isFatal(error));
        bag.closer.checkDrained();
        return error;
      }
      slot = this.#adopt(r.value, start);
      if (brokenEarly !== undefined) slot.brokenError = brokenEarly;
      bag.makeAvailable(slot, true);
      // After failures only one connect was in flight: open the rest for the callers still waiting.
      if (bag.queue.size > 0) this.fill();
      bag.closer.checkDrained();
      return true;
    });
  }

  #adopt(conn: C, start: number): Slot<C> {
    const bag = this.#bag;
    const t = now();
    const lifetime = this.#lifetimeMs();
    const expiresAt = lifetime === null ? Number.POSITIVE_INFINITY : start + lifetime - Math.random() * lifetime * 0.025;
    const slot = new Slot(bag, ++this.#nextConnectionId, conn, t, expiresAt);
    slot.healthEpoch = this.healthEpoch;
    if (lifetime !== null) {
      // An entry on the pool's deadline queue (no timer of its own) retires it at its lifetime, even when
      // idle. Every connection's entry goes in the lane of the pool's lifetime, whatever its jitter, so
      // connections share one lane rather than each making its own.
      slot.expiry = new LifetimeEntry(() => this.#expireSlot(slot));
      const lane = Math.ceil(lifetime);
      bag.operations.add(slot.expiry, lane, expiresAt - lane);
    }
    bag.slots.add(slot);
    slot.state = 'validating';
    bag.counters.created++;
    bag.counters.totalCreateMs += t - start;
    // A connect succeeded: creations may proceed now. The failure streak ends only when a connection
    // proves healthy (see healthy()), so a database that accepts connects but fails them keeps backing off.
    // While connects failed (or a connection was cut) only one was in flight: open the rest (for
    // minSize) on the next tick.
    if (this.lastCreateError !== undefined || this.#suspect) this.#scheduleFill(t);
    this.#suspect = false;
    this.lastCreateError = undefined;
    this.lastCreateFatal = false;
    this.#backoffUntil = 0;
    if (bag.events.has('create')) bag.events.emit('create', { connectionId: slot.id, durationMs: t - start });
    if (bag.log !== null) bag.log.createSucceeded();
    if (createChannel.hasSubscribers) {
      createChannel.publish({
        pool: bag.name,
        outcome: 'created',
        connectionId: slot.id,
        durationMs: t - start,
        error: undefined,
        fatal: false,
        consecutiveFailures: this.#consecutiveFailures,
      });
    }
    return slot;
  }

  #expireSlot(slot: Slot<C>): void {
    slot.expiry = null;
    if (slot.state === 'closing') return;
    if (slot.retire === null) slot.retire = 'lifetime';
    if (slot.state === 'idle') this.#bag.closer.destroy(slot, slot.retire);
  }

  #lifetimeMs(): number | null {
    const a = this.#bag.config.maxLifetimeMs;
    const b = agingLifetimeMs(this.#bag.aging);
    if (a === null) return b;
    if (b === null) return a;
    return Math.min(a, b);
  }

  /** Asks the factory whether a `create()` error is fatal; a hook that throws or answers nonsense says no. */
  #isFatal(error: unknown): boolean {
    const factory = this.#bag.factory;
    if (factory.classifyCreateError === undefined) return false;
    let kind: unknown;
    try {
      kind = factory.classifyCreateError(error);
    } catch (thrown) {
      this.#bag.report(new CallbackError('ERR_POOL_FACTORY', 'factory.classifyCreateError() threw; the error counts as transient', thrown));
      return false;
    }
    return kind === 'fatal';
  }

  #createFailed(error: unknown, start: number, fatal: boolean): void {
    const bag = this.#bag;
    const t = now();
    bag.counters.createFailures++;
    if (fatal) bag.counters.fatalCreateFailures++;
    this.lastCreateError = error;
    this.lastCreateFatal = fatal;
    this.backOff(start);
    const delay = Math.max(0, this.#nextAttemptAt(!bag.suspended && bag.queue.size > 0) - t);
    const consecutiveFailures = this.#consecutiveFailures;
    if (bag.events.has('createError')) {
      bag.events.emit('createError', { error, durationMs: t - start, consecutiveFailures, retryInMs: delay, fatal });
    }
    if (bag.log !== null && bag.state === OPEN) bag.log.createFailed(error, fatal, delay);
    if (createChannel.hasSubscribers) {
      const durationMs = t - start;
      createChannel.publish({ pool: bag.name, outcome: 'failed', connectionId: undefined, durationMs, error, fatal, consecutiveFailures });
    }
    if (bag.state !== OPEN) return;
    bag.failForCreateError(error, fatal, start);
    this.fill();
  }

  /**
   * Why an acquire that must wait should rather fail now, or null. Asked only while the last connect
   * failed; no refusal once the backoff allows a fresh attempt (the acquire then triggers it).
   * Fatal error: the caller is beyond what the open connections can serve. `failFast`: the pool would
   * open a connection for it (it is not at `maxSize` or the limit).
   */
  refusal(failFast: boolean): ConnectionCreateError | null {
    const bag = this.#bag;
    const fatal = this.lastCreateFatal;
    if (!fatal && !failFast) return null;
    const retryInMs = this.#nextAttemptAt(!fatal) - now();
    if (!(retryInMs > 0)) return null;
    if (fatal ? bag.queue.size < bag.slots.size : bag.slots.size + this.pending >= bag.capacity) return null;
    const next = `next attempt in ${Math.ceil(retryInMs)} ms`;
    const why = fatal
      ? `Could not open a connection, and retrying cannot fix the error (${next})`
      : `Could not open a connection (the last attempt failed; ${next})`;
    return new ConnectionCreateError(why, this.lastCreateError, Math.ceil(retryInMs));
  }

  /**
   * Delays the next creation exponentially (with up to 20% jitter) after a failure of a connection
   * attempt that started at `start`. Returns the delay.
   */
  backOff(start: number): number {
    const t = now();
    // Failures of attempts that started before the previous failure belong to the same round.
    if (start > this.#lastFailureAt || this.#consecutiveFailures === 0) this.#consecutiveFailures++;
    this.#lastFailureAt = t;
    const cfg = this.#bag.config;
    const exp = Math.min(this.#consecutiveFailures - 1, 30);
    const base = Math.min(cfg.createRetryMaxDelayMs, cfg.createRetryDelayMs * 2 ** exp);
    const delay = Math.min(cfg.createRetryMaxDelayMs, base * (1 + Math.random() * 0.2));
    this.#backoffUntil = t + delay;
    return delay;
  }

  /** Opens `n` connections (within the creation throttle) for `ConnectionPool.create`. */
  async warmUp(n: number): Promise<(true | unknown)[]> {
    const bag = this.#bag;
    const runs: Promise<true | unknown>[] = [];
    for (let i = 0; i < n && bag.state === OPEN; i++) {
      const rate = bag.config.creationThrottle;
      if (rate !== null) {
        const t = now();
        this.#tokens = Math.min(rate, this.#tokens + ((t - this.#tokensAt) * rate) / 1000);
        this.#tokensAt = t;
        if (this.#tokens < 1) await new Promise((r) => setTimeout(r, Math.ceil(((1 - this.#tokens) * 1000) / rate)));
        this.#tokens = Math.max(0, this.#tokens - 1);
      }
      runs.push(this.create());
    }
    return Promise.all(runs);
  }

  #onBroken(slot: Slot<C>, error: unknown): void {
    if (slot.state === 'closing') return;
    slot.brokenError = error;
    if (slot.state === 'idle') this.#bag.closer.destroy(slot, 'broken', error);
  }
}
