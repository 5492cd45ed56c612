import { type AgingPolicy, agingVerdict, OutcomeWindow } from './aging-policy.js';
import { createOperationScheduler, runBounded, withoutStack } from './bounded.js';
import { now } from './clock.js';
import type { PoolConfig } from './config.js';
import { ConnectionCloser } from './connection-closer.js';
import { ConnectionOpener } from './connection-opener.js';
import type { ConnectionValidator, ValidationOutcome } from './connection-validator.js';
import { DeadlineQueue } from './deadline-queue.js';
import { releaseChannel, resetChannel, validateChannel } from './diagnostics.js';
import {
  AcquireAbortedError,
  ConnectionCreateError,
  ConnectionTimeoutError,
  PoolClosedError,
  type PoolError,
  PoolExhaustedError,
  type TimeoutSituation,
  ValidationFailedError,
} from './errors.js';
import { type BorrowEnd, type DestroyReason, type PoolEventMap, PoolEvents } from './events.js';
import type { ConnectionFactory } from './factory.js';
import { IdleList } from './idle-list.js';
import { PoolCounters } from './pool-counters.js';
import { PoolLog, type PoolLogger } from './pool-logger.js';
import { type AcquireOptions, checkAcquireOptions, type OwnerScope } from './pool-options.js';
import { type AcquireMeta, kFailWaiter, PoolWaiter, parkSettlers, type WaiterHost } from './pool-waiter.js';
import { type BorrowMeta, kDestroyBorrowed, kGiveBack, type Lender, PooledConnection } from './pooled-connection.js';
import type { QueuePriority } from './queue-priority.js';
import type { RecyclingStrategy } from './recycling-strategy.js';
import type { Slot } from './slot.js';
import type { WaiterExit, WaitQueue } from './waiter.js';

/** @internal The pool's lifecycle states. */
export const OPEN = 0;
export const CLOSING = 1;
export const CLOSED = 2;

/** @internal What the bag is built from (the pool's validated config and options). */
export interface BagSetup<C> {
  readonly name: string;
  readonly config: PoolConfig;
  readonly factory: ConnectionFactory<C>;
  readonly queue: WaitQueue;
  readonly validator: ConnectionValidator | null;
  readonly aging: AgingPolicy | null;
  readonly recycling: RecyclingStrategy;
  readonly ownerScope: OwnerScope | null;
  readonly captureStacks: boolean;
  /** The public method callers reach `acquire` through: captured stacks start below it. */
  readonly entry: (...args: never[]) => unknown;
  readonly logger: PoolLogger | null;
}

/** `1 connect`, `2 connects`. */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function captureTrace(below: (...args: never[]) => unknown): { stack?: string } {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, below);
  return holder;
}

/**
 * @internal Borrowing and hand-off (HikariCP's `ConcurrentBag`): the idle connections, the waiters and
 * their deadlines, and the paths a connection takes from idle or from a release to a caller. It holds
 * the state the pool's other parts share: the {@link ConnectionOpener} opens connections into it, the
 * {@link ConnectionCloser} takes them out, the housekeeper reaps it.
 *
 * The hot path (an idle connection is free) allocates one handle and needs no timer; a released
 * connection goes straight to the next waiter; every wait is bounded by its deadline, kept by one timer
 * for all waiters; removal of a waiter that times out or aborts is O(1).
 */
export class ConnectionBag<C> implements Lender<C>, WaiterHost {
  readonly name: string;
  readonly factory: ConnectionFactory<C>;
  config: PoolConfig;
  /**
   * The most connections open (or being opened) at once: `config.maxSize`, or the lower `limit`. Read on
   * every return.
   */
  capacity: number;
  /** The cap set by `ConnectionPool.setLimit()`, within `[minSize, maxSize]`; null: none. */
  limit: number | null = null;
  readonly queue: WaitQueue;
  readonly deadlines: DeadlineQueue<PoolWaiter>;
  readonly idle = new IdleList<Slot<C>>();
  readonly slots = new Set<Slot<C>>();
  readonly events: PoolEvents<PoolEventMap<C>>;
  readonly counters = new PoolCounters();
  readonly validator: ConnectionValidator | null;
  readonly aging: AgingPolicy | null;
  readonly recycling: RecyclingStrategy;
  readonly ownerScope: OwnerScope | null;
  readonly captureStacks: boolean;
  readonly #entry: (...args: never[]) => unknown;
  /** One timer for the deadlines of every create, validate, reset and close in progress. */
  readonly operations = createOperationScheduler();
  readonly opener: ConnectionOpener<C>;
  readonly closer: ConnectionCloser<C>;
  /** What goes to the `logger` option, when there is one. */
  readonly log: PoolLog | null;
  state = OPEN;
  suspended = false;
  /** An upper bound of "now" until the next maintenance pass: the idle stamp when times are not measured. */
  nextTickAt = 0;
  /**
   * Whether borrow and idle times are measured. A clock read costs as much as the rest of an
   * acquire/release, so it happens only when something needs the times: leak detection, stack capture,
   * fast validation, or an `acquire`/`release` listener (a monitor).
   */
  timed = false;
  onAcquire = false;
  onRelease = false;
  onEnqueue = false;
  /** Outstanding `requestBorrowTiming()` calls. */
  timingRequests = 0;
  /** Unsettled waiters that asked for `failFast` (saves looking for one in the queue when there is none). */
  failFastWaiting = 0;
  /** No owner scope, no stack capture, no acquire-time validation: the fast path applies. */
  readonly #plain: boolean;
  /** `#plain`, open and not suspended: a plain acquire may take an idle connection directly. */
  #fastOk = false;
  readonly #validateOnAcquire: boolean;
  readonly #validateOnRelease: boolean;
  /** What release does: 0 return as is, 1 reset, 2 reset when dirty, 3 replace. */
  readonly #recycleMode: 0 | 1 | 2 | 3;
  #nextWaiterId = 0;

  /** @internal How many waits began so far (a waiter is created for each): an acquire that moved it waited. */
  get waitsStarted(): number {
    return this.#nextWaiterId;
  }

  /** @internal When the latest wait began (`now()` clock). */
  get lastWaitStartedAt(): number {
    return this.#newest === undefined ? Number.NaN : this.#newest.enqueuedAt;
  }
  /** The waiter #newWaiter made last (saves allocating a tuple to return it with its promise). */
  #newest: PoolWaiter | undefined;
  readonly #warned = new Set<string>();

  constructor(setup: BagSetup<C>) {
    const config = setup.config;
    this.name = setup.name;
    this.factory = setup.factory;
    this.config = config;
    this.capacity = config.maxSize;
    this.validator = setup.validator;
    this.aging = setup.aging;
    this.recycling = setup.recycling;
    this.ownerScope = setup.ownerScope;
    this.captureStacks = setup.captureStacks;
    this.#entry = setup.entry;
    this.log = setup.logger === null ? null : new PoolLog(setup.logger, setup.name);
    this.events = new PoolEvents((error) => this.report(error));
    this.deadlines = new DeadlineQueue<PoolWaiter>((w) => this.#expire(w));
    this.queue = setup.queue;
    this.nextTickAt = now() + config.maintenanceIntervalMs;
    this.#validateOnAcquire = config.validateOnAcquire;
    this.#validateOnRelease = config.validateOnRelease;
    this.#plain = this.ownerScope === null && !this.captureStacks && !config.validateOnAcquire;
    this.#fastOk = this.#plain;
    const canReset = setup.factory.reset !== undefined;
    const mode = this.recycling;
    this.#recycleMode =
      mode === 'replace' ? 3 : !canReset || mode === 'fast' ? 0 : mode === 'adaptive' && setup.factory.isDirty !== undefined ? 2 : 1;
    this.opener = new ConnectionOpener(this);
    this.closer = new ConnectionCloser(this);
    this.retime();
  }

  /** Recomputes what the hot path must measure and announce. */
  retime(): void {
    this.onAcquire = this.events.has('acquire');
    this.onEnqueue = this.events.has('enqueue');
    this.#fastOk = this.#plain && this.state === OPEN && !this.suspended;
    this.onRelease = this.events.has('release');
    this.timed =
      this.timingRequests > 0 ||
      this.onRelease ||
      this.captureStacks ||
      this.config.leakDetectionThresholdMs !== null ||
      this.validator?.fastValidation === true;
  }

  /** Takes the config after a resize, and the limit within its new bounds. */
  reconfigure(config: PoolConfig, limit: number | null): void {
    this.config = config;
    this.limit = limit;
    this.capacity = limit === null ? config.maxSize : limit;
  }

  /**
   * A problem the pool contained: an `error` event and the logger; with neither, a process warning for
   * the first of its kind.
   */
  report(error: PoolError): void {
    this.counters.errors++;
    const listened = this.events.has('error');
    if (listened) this.events.emit('error', { error });
    if (this.log !== null) this.log.reported(error);
    if (listened || this.log !== null) return;
    if (!this.#warned.has(error.code)) {
      this.#warned.add(error.code);
      process.emitWarning(
        `[${this.name}] ${error.message} (further ${error.code} problems are counted in statistics().errors; listen to 'error' to see them)`,
        {
          code: error.code,
        },
      );
    }
  }

  // ---------------------------------------------------------------- acquisition

  /** See `ConnectionPool.acquire`. */
  acquire(options: AcquireOptions | undefined): Promise<PooledConnection<C>> {
    // The common case first: no options, an idle connection free, nothing to validate or record.
    if (options === undefined && this.#fastOk && this.idle.size > 0 && this.queue.size === 0) {
      const slot = this.#takeIdle(undefined);
      if (slot !== undefined) return Promise.resolve(this.#lend(slot, 0, undefined));
    }
    let timeoutMs = this.config.acquireTimeoutMs;
    let signal: AbortSignal | undefined;
    let priority: QueuePriority = 'normal';
    let label: string | undefined;
    let context: unknown;
    let failFast = false;
    if (options !== undefined) {
      const problem = checkAcquireOptions(options);
      if (problem !== null) return Promise.reject(problem);
      if (options.timeoutMs !== undefined) timeoutMs = options.timeoutMs;
      signal = options.signal;
      if (options.priority !== undefined) priority = options.priority;
      label = options.label;
      context = options.context;
      failFast = options.failFast === true;
    }
    if (this.state !== OPEN) return this.#refuse(new PoolClosedError(), context);
    if (signal?.aborted) {
      this.counters.aborted++;
      return this.#refuse(new AcquireAbortedError(signal.reason), context);
    }
    const owner = this.ownerScope === null ? undefined : this.ownerScope.current();
    const trace = this.captureStacks ? captureTrace(this.#entry) : undefined;
    if (!this.suspended && this.queue.size === 0 && this.idle.size > 0) {
      const slot = this.#takeIdle(label);
      if (slot !== undefined) {
        if (!this.#validateOnAcquire || !this.#needsValidation(slot)) {
          const meta = context === undefined && owner === undefined && trace === undefined ? undefined : { context, owner, trace };
          return Promise.resolve(this.#lend(slot, 0, meta));
        }
        const promise = this.#newWaiter(priority, timeoutMs, signal, label, context, owner, trace, failFast);
        const waiter = this.#newest as PoolWaiter;
        this.#serve(slot, waiter, false, waiter.enqueuedAt); // the waiter's start is this very moment
        return promise;
      }
    }
    // The line is full only for callers the pool cannot open a connection for: a caller that will be
    // served by a creation of its own is admitted even with maxWaitQueueSize 0.
    const queued = this.queue.size;
    if (queued >= this.config.maxWaitQueueSize && this.slots.size + Math.max(this.opener.pending, queued) >= this.capacity) {
      this.counters.rejected++;
      return this.#refuse(
        new PoolExhaustedError({ active: this.slots.size - this.idle.size, max: this.capacity, waiting: this.queue.size }),
        context,
      );
    }
    if (this.opener.lastCreateError !== undefined) {
      // Connecting fails: a caller that would wait for a new connection in vain is told at once.
      const refusal = this.opener.refusal(failFast);
      if (refusal !== null) return this.#refuse(refusal, context);
    }
    const promise = this.#newWaiter(priority, timeoutMs, signal, label, context, owner, trace, failFast);
    const waiter = this.#newest as PoolWaiter;
    this.queue.enqueue(waiter);
    if (this.onEnqueue) this.events.emit('enqueue', { waiter });
    if (!waiter.settled && this.slots.size + this.opener.pending < this.capacity) this.opener.fill();
    return promise;
  }

  #refuse(error: PoolError, context: unknown): Promise<never> {
    this.counters.acquireFailures++;
    if (this.events.has('acquireError')) this.events.emit('acquireError', { error, waitMs: 0, context });
    return Promise.reject(error);
  }

  /** Creates a waiter with its deadline (and abort listener); returns the promise its caller gets. */
  #newWaiter(
    priority: QueuePriority,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    label: string | undefined,
    context: unknown,
    owner: unknown,
    trace: { stack?: string } | undefined,
    failFast: boolean,
  ): Promise<PooledConnection<C>> {
    const meta: AcquireMeta | undefined =
      signal === undefined && label === undefined && context === undefined && owner === undefined && trace === undefined && !failFast
        ? undefined
        : { label, context, owner, trace, signal, failFast, onAbort: undefined };
    const start = now();
    const promise = new Promise<PooledConnection<never>>(parkSettlers) as Promise<PooledConnection<C>>;
    const w = new PoolWaiter(this, ++this.#nextWaiterId, priority, start, meta);
    this.deadlines.add(w, timeoutMs, start);
    if (failFast) this.failFastWaiting++;
    if (signal !== undefined && meta !== undefined) {
      const onAbort = (): void => {
        this.counters.aborted++;
        this[kFailWaiter](
          w,
          withoutStack(() => new AcquireAbortedError(signal.reason)),
          'abort',
        );
      };
      meta.onAbort = onAbort;
      signal.addEventListener('abort', onAbort, { once: true });
    }
    this.#newest = w;
    return promise;
  }

  #expire(w: PoolWaiter): void {
    if (w.settled) return;
    this.counters.timeouts++;
    const error = withoutStack(
      () => new ConnectionTimeoutError(w.timeoutMs, w.lastError ?? this.opener.lastCreateError, this.#situation()),
    );
    if (this.events.has('timeout'))
      this.events.emit('timeout', { waitMs: now() - w.enqueuedAt, timeoutMs: w.timeoutMs, context: w.context });
    this[kFailWaiter](w, error, 'timeout');
  }

  /** What the pool is doing for its waiters right now, for a timeout's message. */
  #situation(): TimeoutSituation {
    const pendingConnects = this.opener.pending;
    const oldestConnectMs = this.opener.oldestPendingMs();
    const borrowed = this.slots.size - this.idle.size;
    const capacity = this.capacity;
    const waiting = Math.max(0, this.queue.size - 1);
    const others = waiting === 0 ? '' : `, ${count(waiting, 'other caller')} waiting`;
    let summary: string;
    if (pendingConnects > 0) {
      const age = oldestConnectMs === undefined ? '' : ` for ${Math.round(oldestConnectMs).toLocaleString('en-US')} ms`;
      summary = `${count(pendingConnects, 'connect')} pending${age} (the database is slow to accept connections)${others}`;
    } else if (this.suspended) {
      summary = `the pool is suspended${others}`;
    } else {
      const bound = capacity < this.config.maxSize ? `limit ${capacity}, maxSize ${this.config.maxSize}` : `maxSize ${capacity}`;
      const all = borrowed >= capacity ? `all ${capacity} connections are borrowed` : `${borrowed} of ${capacity} connections are borrowed`;
      summary = `${all} (${bound})${others}`;
    }
    return { pendingConnects, oldestConnectMs, borrowed, capacity, waiting, summary };
  }

  /** @internal Fails a waiter unless it already settled: the implementation of `Waiter.fail`. */
  [kFailWaiter](w: PoolWaiter, error: PoolError, exit: WaiterExit): boolean {
    if (w.settled) return false;
    this.#settle(w);
    this.queue.remove(w, exit);
    this.counters.acquireFailures++;
    if (this.events.has('acquireError')) this.events.emit('acquireError', { error, waitMs: now() - w.enqueuedAt, context: w.context });
    w.reject(error);
    return true;
  }

  #settle(w: PoolWaiter): void {
    w.settled = true;
    this.deadlines.remove(w);
    const meta = w.meta;
    if (meta !== undefined) {
      if (meta.onAbort !== undefined) meta.signal?.removeEventListener('abort', meta.onAbort);
      if (meta.failFast) this.failFastWaiting--;
    }
  }

  /**
   * A connect failed: fails the waiters it leaves without hope. The first `failFast` waiter in line that
   * was already waiting when the attempt began at `startedAt` (one per failed attempt, as pg.Pool gives
   * a connect's error to the request it was opened for, and to nobody when that one already left); and
   * when the error is fatal, every waiter beyond the open connections (each open connection serves one
   * waiter as it comes back; with none open, every waiter).
   */
  failForCreateError(error: unknown, fatal: boolean, startedAt = Number.POSITIVE_INFINITY): void {
    const queue = this.queue;
    if (queue.size === 0) return;
    const why = fatal ? 'Could not open a connection, and retrying cannot fix the error' : 'Could not open a connection';
    if (this.failFastWaiting > 0) {
      for (const w of queue.values()) {
        if ((w as PoolWaiter).meta?.failFast === true && w.enqueuedAt <= startedAt) {
          this[kFailWaiter](
            w as PoolWaiter,
            withoutStack(() => new ConnectionCreateError(why, error)),
            'failed',
          );
          break;
        }
      }
    }
    if (fatal && queue.size > this.slots.size) {
      const line = [...queue.values()];
      for (let i = this.slots.size; i < line.length; i++) {
        this[kFailWaiter](
          line[i] as PoolWaiter,
          withoutStack(() => new ConnectionCreateError(why, error)),
          'failed',
        );
      }
    }
  }

  /** Fails every waiter with `error` (the pool is closing). */
  failAll(error: PoolError): void {
    for (const w of [...this.queue.values()]) this[kFailWaiter](w as PoolWaiter, error, 'closed');
  }

  /** Hands idle connections to waiters while both exist. */
  dispatch(): void {
    while (!this.suspended && this.state === OPEN && this.queue.size > 0 && this.idle.size > 0) {
      const w = this.queue.dequeue() as PoolWaiter | undefined;
      if (w === undefined) return;
      const slot = this.#takeIdle(w.label);
      if (slot === undefined) {
        this.queue.requeue(w);
        return;
      }
      this.#serve(slot, w, false);
    }
  }

  /** Takes a reusable idle connection, destroying the ones found expired or broken on the way. */
  #takeIdle(label: string | undefined): Slot<C> | undefined {
    for (;;) {
      const slot = this.idle.pop(label);
      if (slot === undefined) return undefined;
      const reason = this.retireReason(slot);
      if (reason === null) return slot;
      this.closer.destroy(slot, reason);
    }
  }

  /** Whether an acquire must validate `slot` first; records a skip when fast validation trusts it. */
  #needsValidation(slot: Slot<C>): boolean {
    if (!this.#validateOnAcquire) return false;
    const v = this.validator;
    if (v === null || !v.canSkip(slot.lastSuccessAt)) return true;
    this.counters.validations++;
    v.recordSkipped();
    if (this.events.has('validation')) this.events.emit('validation', { connectionId: slot.id, outcome: 'skipped', durationMs: 0 });
    if (validateChannel.hasSubscribers)
      validateChannel.publish({ pool: this.name, connectionId: slot.id, outcome: 'skipped', durationMs: 0 });
    return false;
  }

  /** Gives `slot` to dequeued (or never queued) waiter `w`, validating first when required. */
  #serve(slot: Slot<C>, w: PoolWaiter, fresh: boolean, t = Number.NaN): void {
    if (fresh || !this.#needsValidation(slot)) {
      this.#handOver(slot, w);
      return;
    }
    slot.state = 'validating';
    this.#validate(slot, t).then((outcome) => {
      if (outcome === 'valid' || outcome === 'skipped') {
        if (!w.settled && this.state === OPEN) {
          if (this.retireReason(slot) === null) {
            this.#handOver(slot, w);
            return;
          }
          // Retired while it was validated (the pool shrank): it goes, the waiter waits for another.
          this.makeAvailable(slot, true);
          this.queue.requeue(w);
          this.dispatch();
          this.opener.fill();
          return;
        }
        this.makeAvailable(slot, true);
        if (!w.settled) this[kFailWaiter](w, new PoolClosedError('The pool was closed while waiting'), 'closed');
        return;
      }
      w.lastError = new ValidationFailedError(`Connection ${slot.id} failed validation (${outcome})`, { connectionId: slot.id });
      this.closer.destroy(slot, 'validation', w.lastError);
      if (w.settled) return;
      if (this.state !== OPEN) {
        this[kFailWaiter](w, new PoolClosedError('The pool was closed while waiting'), 'closed');
        return;
      }
      this.queue.requeue(w);
      this.dispatch();
      this.opener.fill();
    });
  }

  #handOver(slot: Slot<C>, w: PoolWaiter): void {
    this.#settle(w);
    const waitMs = now() - w.enqueuedAt;
    this.counters.waited++;
    w.resolve(this.#lend(slot, waitMs, w.meta) as PooledConnection<never>);
  }

  #lend(slot: Slot<C>, waitMs: number, meta: BorrowMeta | undefined): PooledConnection<C> {
    slot.state = 'borrowed';
    slot.borrows++;
    slot.borrowedAt = this.timed || releaseChannel.hasSubscribers ? now() : Number.NaN;
    slot.leakReported = false;
    this.counters.recordAcquired(waitMs);
    const handle = new PooledConnection(slot, meta);
    slot.handle = handle;
    if (this.onAcquire) this.events.emit('acquire', { connection: handle, waitMs });
    return handle;
  }

  // ---------------------------------------------------------------- return path

  /** @internal Called by `PooledConnection.release()`. */
  [kGiveBack](handle: PooledConnection<C>, slot: Slot<C>, error: unknown): void {
    const t = this.timed ? now() : Number.NaN;
    slot.handle = null;
    this.counters.released++;
    const failed = error !== undefined;
    if (failed) {
      this.counters.releasedWithError++;
      slot.lastSuccessAt = Number.NEGATIVE_INFINITY; // a failed use earns no fast-validation trust
    } else {
      if (!Number.isNaN(t)) slot.lastSuccessAt = t;
      this.opener.healthy();
    }
    const aging = this.aging;
    if (aging !== null) {
      if (aging.kind === 'adaptive') {
        slot.outcomes ??= new OutcomeWindow();
        slot.outcomes.record(failed, aging.windowSize ?? 20);
      }
      if (slot.retire === null) slot.retire = agingVerdict(aging, slot.borrows, slot.outcomes);
    }
    if (this.onRelease) this.events.emit('release', { connection: handle, holdMs: t - slot.borrowedAt, error, ended: 'released' });
    if (releaseChannel.hasSubscribers) this.publishRelease(handle, slot, Number.isNaN(t) ? now() : t, error, 'released');
    this.#recycle(slot, t);
  }

  /** @internal Called by `PooledConnection.destroy()`. */
  [kDestroyBorrowed](handle: PooledConnection<C>, slot: Slot<C>, error: unknown): Promise<void> {
    slot.handle = null;
    this.counters.released++;
    if (error !== undefined) this.counters.releasedWithError++;
    if (this.onRelease) this.events.emit('release', { connection: handle, holdMs: now() - slot.borrowedAt, error, ended: 'destroyed' });
    if (releaseChannel.hasSubscribers) this.publishRelease(handle, slot, now(), error, 'destroyed');
    // The caller may await the close: the process stays up until it ends (bounded by closeTimeoutMs).
    return this.closer.holdWhile(this.closer.destroy(slot, 'destroyed', error));
  }

  /** Publishes the end of a borrow on `pool:release` (the caller checked for subscribers). */
  publishRelease(handle: PooledConnection<C>, slot: Slot<C>, t: number, error: unknown, ended: BorrowEnd): void {
    releaseChannel.publish({ pool: this.name, connectionId: slot.id, holdMs: t - slot.borrowedAt, ended, error, context: handle.context });
  }

  /** Why `slot` must not be reused, or null. */
  retireReason(slot: Slot<C>): DestroyReason | null {
    if (this.state !== OPEN) return 'closed';
    if (slot.retire !== null) return slot.retire;
    if (slot.brokenError !== undefined) return 'broken';
    if (this.slots.size > this.capacity) return this.capacity < this.config.maxSize ? 'limit' : 'resize';
    return null;
  }

  /** A released connection: retire it, or reset/replace/keep it per the recycling strategy. `t`: release time, NaN when untimed. */
  #recycle(slot: Slot<C>, t: number): void {
    const reason = this.retireReason(slot);
    if (reason !== null) {
      this.closer.destroy(slot, reason);
      return;
    }
    const mode = this.#recycleMode;
    if (mode === 0 || (mode === 2 && !this.#isDirty(slot))) {
      if (this.#validateOnRelease) this.#afterReset(slot, t);
      else this.#offer(slot, false, t); // just checked above: nothing can have changed
      return;
    }
    if (mode === 3) {
      this.closer.destroy(slot, 'replace');
      return;
    }
    const factory = this.factory;
    slot.state = 'resetting';
    this.counters.resets++;
    // A label names session state (a tenant's search_path, say) that a reset clears: drop it, so a
    // caller preferring that label prepares the connection again instead of trusting stale state.
    slot.label = undefined;
    const resetFn = factory.reset as NonNullable<ConnectionFactory<C>['reset']>;
    const observed = resetChannel.hasSubscribers;
    const start = observed ? now() : Number.NaN;
    runBounded('reset', this.config.resetTimeoutMs, (ctx) => resetFn.call(factory, slot.connection, ctx), {
      scheduler: this.operations,
      ...(observed ? { start } : {}),
    }).then((r) => {
      if (observed && resetChannel.hasSubscribers) {
        const outcome = r.ok ? 'reset' : r.timedOut ? 'timeout' : 'failed';
        const error = r.ok ? undefined : r.error;
        resetChannel.publish({ pool: this.name, connectionId: slot.id, outcome, durationMs: now() - start, error });
      }
      if (!r.ok) {
        this.counters.resetFailures++;
        this.closer.destroy(slot, 'reset', r.error);
        return;
      }
      this.#afterReset(slot, Number.NaN);
    });
  }

  /** Asks the factory whether a connection carries state to reset; a throwing hook counts as dirty. */
  #isDirty(slot: Slot<C>): boolean {
    try {
      return (this.factory.isDirty as NonNullable<ConnectionFactory<C>['isDirty']>).call(this.factory, slot.connection) !== false;
    } catch {
      return true;
    }
  }

  #afterReset(slot: Slot<C>, t: number): void {
    if (!this.#validateOnRelease) {
      this.makeAvailable(slot, false, t);
      return;
    }
    slot.state = 'validating';
    this.#validate(slot).then((outcome) => {
      if (outcome === 'valid' || outcome === 'skipped') this.makeAvailable(slot, true);
      else this.closer.destroy(slot, 'validation');
    });
  }

  /**
   * A connection is ready for reuse: straight to the next waiter, else idle. `checked`: it was just
   * created or validated, so acquire-time validation is not needed.
   */
  makeAvailable(slot: Slot<C>, checked: boolean, t = Number.NaN): void {
    if (slot.state === 'closing') return;
    const reason = this.retireReason(slot);
    if (reason !== null) {
      this.closer.destroy(slot, reason);
      return;
    }
    this.#offer(slot, checked, t);
  }

  /** {@link makeAvailable} for a connection known to be reusable. */
  #offer(slot: Slot<C>, checked: boolean, t: number): void {
    if (!this.suspended && this.queue.size > 0) {
      const w = this.queue.dequeue() as PoolWaiter | undefined;
      if (w !== undefined) {
        this.#serve(slot, w, checked);
        return;
      }
    }
    slot.state = 'idle';
    // Exact when times are measured; otherwise the next maintenance pass (an upper bound), so the idle
    // timeout never reaps early and at most one maintenance interval late.
    slot.idleSince = !Number.isNaN(t) ? t : this.timed ? now() : this.nextTickAt;
    this.idle.push(slot);
  }

  /** Validates `slot`, bounded by the validation timeout. `t`: "now", when the caller just read the clock. */
  #validate(slot: Slot<C>, t = Number.NaN): Promise<ValidationOutcome> {
    this.counters.validations++;
    const onEvent = this.events.has('validation');
    const timed = onEvent || validateChannel.hasSubscribers;
    const start = timed && Number.isNaN(t) ? now() : t;
    const done = (outcome: ValidationOutcome): ValidationOutcome => {
      if (outcome === 'valid') {
        // Only fast validation reads this; a clock read costs as much as the rest of the bookkeeping.
        if (this.timed) slot.lastSuccessAt = now();
        this.opener.healthy();
      } else if (outcome !== 'skipped') this.counters.validationFailures++;
      if (timed) {
        const durationMs = now() - start;
        if (onEvent) this.events.emit('validation', { connectionId: slot.id, outcome, durationMs });
        if (validateChannel.hasSubscribers) validateChannel.publish({ pool: this.name, connectionId: slot.id, outcome, durationMs });
      }
      return outcome;
    };
    if (this.validator !== null) return this.validator.check(this.factory, slot.connection, slot.lastSuccessAt).then(done);
    const factory = this.factory;
    const validate = factory.validate as NonNullable<ConnectionFactory<C>['validate']>;
    return runBounded('validate', this.config.validationTimeoutMs, (ctx) => validate.call(factory, slot.connection, ctx), {
      scheduler: this.operations,
      ...(Number.isNaN(t) ? {} : { start: t }),
    }).then((r) => done(r.ok ? (r.value === true ? 'valid' : 'invalid') : r.timedOut ? 'timeout' : 'error'));
  }
}
