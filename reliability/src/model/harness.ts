import { AsyncResource } from 'node:async_hooks';
import {
  AgingPolicy,
  ConnectionPool,
  ConnectionReleasedError,
  ConnectionValidator,
  InvalidArgumentError,
  InvalidConfigError,
  PoolClosedError,
  PoolError,
  type PooledConnection,
  type QueuePriority,
  type RecyclingStrategy,
} from '@pool/core';
import { PartitionManager, PartitionType, RoutingStrategy } from '@pool/partitioning';
import { DeadlockDetector, PriorityWaitQueue, StarvationPrevention } from '@pool/queue';
import fc from 'fast-check';
import { expect, vi } from 'vitest';
import { type Behaviour, type ControlledConnection, ControlledFactory } from '../support/controlled-factory.js';

/**
 * The model-based test of the engine: a pool (optionally partitioned, with priority queues) over a
 * {@link ControlledFactory}, driven by random commands under fake time. The "model" is the little the
 * test must remember to judge the pool: which acquires it issued with which deadline, which handles it
 * holds, which ended, whether the pool is suspended or closed, and the size bounds in force.
 */

/** Timeouts of the pool under test (ms of fake time). */
export const CREATE_TIMEOUT = 200;
export const VALIDATION_TIMEOUT = 100;
export const RESET_TIMEOUT = 100;
export const CLOSE_TIMEOUT = 300;
export const ACQUIRE_TIMEOUT = 500;
export const RETRY_MAX = 200;
export const DEAF_MS = 1_000;

/** The per-run settings fast-check picks. */
export interface RunSettings {
  minSize: number;
  maxSize: number;
  validateOnAcquire: boolean;
  validateOnRelease: boolean;
  fairQueue: boolean;
  recycling: RecyclingStrategy;
  maxWaitQueueSize: number;
  creationThrottle: number | null;
  /** Acquire through a PartitionManager (two tenants) instead of the pool directly. */
  partitioned: boolean;
  starvation: boolean;
  /** An aging policy besides maxLifetimeMs. */
  aging: 'none' | 'usage' | 'combined' | 'adaptive';
  /** A ConnectionValidator with fast validation (recently used connections skip validation). */
  fastValidation: boolean;
  /** A DeadlockDetector's owner scope; acquires then run as one of three tasks. */
  deadlock: boolean;
  /** A partition `prepare` hook (partitioned runs), steered by `prepare:` commands. */
  prepare: boolean;
}

/** A partition of the run and the limits the test believes are in force. */
export interface PartitionSpec {
  readonly id: string;
  readonly tenant: string;
  maxConnections: number;
  minConnections: number;
  maxWaitQueue: number;
  /** How far above its limits the partition may be just after `setLimits` lowered them (shrinking only). */
  excessHeld: number;
  excessWaiting: number;
}

/** One acquire the test issued, and how it ended. */
export interface AcquireRecord {
  readonly n: number;
  readonly deadline: number;
  readonly controller: AbortController;
  readonly partition: string | null;
  /** Issued while the pool was suspended, in suspension number `suspendEpoch`. */
  readonly suspendEpoch: number | null;
  /** Issued after close() was called: it must be refused. */
  readonly afterClose: boolean;
  state: 'pending' | 'served' | 'failed';
  handle?: PooledConnection<ControlledConnection>;
  error?: unknown;
}

/** A live borrow the test holds. */
export interface Held {
  readonly handle: PooledConnection<ControlledConnection>;
  readonly raw: ControlledConnection;
  readonly partition: string | null;
}

/** One model-based run: the pool under test, its factory, the optional partition manager, and what the test remembers. */
export class Run {
  readonly factory = new ControlledFactory();
  readonly other: ConnectionPool<ControlledConnection>;
  readonly pool: ConnectionPool<ControlledConnection>;
  readonly manager: PartitionManager<ControlledConnection> | null;
  readonly partitions: PartitionSpec[] = [];
  readonly acquires: AcquireRecord[] = [];
  held: Held[] = [];
  /** Handles whose borrow ended (by us or by the pool), for misuse commands. */
  readonly ended: PooledConnection<ControlledConnection>[] = [];
  /** Errors that were not PoolErrors, or calls that threw what they should not. */
  readonly surprises: string[] = [];
  suspended = false;
  suspendEpoch = 0;
  readonly detector: DeadlockDetector | null;
  /** Runs a function as one of the three tasks (deadlock runs only). */
  tasks: (<T>(fn: () => T) => T)[] = [];
  /** How the partition prepare hook behaves now. */
  prepareMode: Behaviour = 'ok';
  closing: Promise<void> | null = null;
  closed = false;
  /** How far above maxSize the pool may be after a shrink (decreases as borrows return). */
  excess = 0;

  constructor(readonly settings: RunSettings) {
    this.factory.deafMs = DEAF_MS;
    const config = {
      minSize: settings.minSize,
      maxSize: settings.maxSize,
      acquireTimeoutMs: ACQUIRE_TIMEOUT,
      createTimeoutMs: CREATE_TIMEOUT,
      validationTimeoutMs: VALIDATION_TIMEOUT,
      resetTimeoutMs: RESET_TIMEOUT,
      closeTimeoutMs: CLOSE_TIMEOUT,
      validateOnAcquire: settings.validateOnAcquire,
      validateOnRelease: settings.validateOnRelease,
      fairQueue: settings.fairQueue,
      maxWaitQueueSize: settings.maxWaitQueueSize,
      creationThrottle: settings.creationThrottle,
      maintenanceIntervalMs: 250,
      idleTimeoutMs: 700,
      maxLifetimeMs: 1_500,
      createRetryDelayMs: 20,
      createRetryMaxDelayMs: RETRY_MAX,
      leakDetectionThresholdMs: 400,
      enablePartitioning: settings.partitioned,
    };
    const starvation = (): StarvationPrevention | null => (settings.starvation ? new StarvationPrevention({ thresholdMs: 150 }) : null);
    const aging =
      settings.aging === 'usage'
        ? AgingPolicy.UsageBased({ maxBorrows: 3 })
        : settings.aging === 'combined'
          ? AgingPolicy.Combined({ maxLifetimeMs: 900, maxBorrows: 4 })
          : settings.aging === 'adaptive'
            ? AgingPolicy.Adaptive({ baseLifetimeMs: 1_200, errorThreshold: 0.3, windowSize: 4, minSamples: 2 })
            : null;
    this.detector = settings.deadlock ? new DeadlockDetector({ failWaiters: true }) : null;
    this.pool = ConnectionPool.open(config, this.factory, {
      recyclingStrategy: settings.recycling,
      waitQueue: new PriorityWaitQueue({ starvationPrevention: starvation() }),
      agingPolicy: aging,
      validator: settings.fastValidation ? new ConnectionValidator({ timeoutMs: VALIDATION_TIMEOUT }).withFastValidation(true, 150) : null,
      ownerScope: this.detector?.ownerScope ?? null,
    });
    if (this.detector !== null) {
      this.detector.attach(this.pool);
      const detector = this.detector;
      // Three long-lived tasks: an acquire issued "by" one runs in its async context, so a task that
      // holds a connection and asks for another is a nested acquire the detector can see.
      this.tasks = [0, 1, 2].map((n) => detector.run(() => AsyncResource.bind(<T>(fn: () => T): T => fn()), `task${n}`));
    }
    // Contained problems (a failing close) are reported here; the test checks their type.
    this.pool.on('error', ({ error }) => {
      if (!(error instanceof PoolError)) this.surprises.push(`pool 'error' event with a non-PoolError: ${String(error)}`);
    });
    this.other = ConnectionPool.open({ maxSize: 1 }, new ControlledFactory());
    if (process.env.MODEL_TRACE === '1') this.#trace();
    if (settings.partitioned) {
      const manager = new PartitionManager<ControlledConnection>({
        pool: this.pool,
        routing: RoutingStrategy.TenantBased,
        waitQueue: () => new PriorityWaitQueue({ starvationPrevention: starvation() }),
        prepare: settings.prepare ? (conn, _partition, ctx) => this.#prepare(conn, ctx.signal) : null,
      });
      manager.on('error', ({ error }) => {
        if (!(error instanceof PoolError)) this.surprises.push(`manager 'error' event with a non-PoolError: ${String(error)}`);
      });
      const reserved = Math.min(1, settings.maxSize);
      const specs: PartitionSpec[] = [
        {
          id: 'gold',
          tenant: 'acme',
          maxConnections: settings.maxSize,
          minConnections: reserved,
          maxWaitQueue: 4,
          excessHeld: 0,
          excessWaiting: 0,
        },
        {
          id: 'free',
          tenant: 'globex',
          maxConnections: Math.max(1, settings.maxSize - 1),
          minConnections: 0,
          maxWaitQueue: 3,
          excessHeld: 0,
          excessWaiting: 0,
        },
      ];
      for (const s of specs) {
        manager.createPartition(s.id, PartitionType.Tenant(s.tenant), {
          maxConnections: s.maxConnections,
          minConnections: s.minConnections,
          maxWaitQueue: s.maxWaitQueue,
        });
        this.partitions.push(s);
      }
      this.manager = manager;
    } else {
      this.manager = null;
    }
  }

  /** The partition prepare hook: succeeds, fails, throws, hangs until its signal aborts, or ignores it. */
  #prepare(conn: ControlledConnection, signal: AbortSignal): Promise<void> {
    const mode = this.prepareMode;
    if (conn.closeCalls > 0) this.surprises.push(`prepare ran on closed connection ${conn.serial}`);
    if (mode === 'throw') throw new Error('prepare threw');
    if (mode === 'fail') return Promise.reject(new Error('SET search_path failed'));
    if (mode === 'deaf') return new Promise((resolve) => setTimeout(resolve, DEAF_MS));
    if (mode === 'hang') {
      return new Promise((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    }
    return Promise.resolve();
  }

  /** Logs every pool and manager event (MODEL_TRACE=1), to read a counterexample. */
  #trace(): void {
    const log = (...parts: unknown[]): void => console.log(performance.now().toFixed(1), ...parts);
    for (const e of [
      'create',
      'createError',
      'destroy',
      'acquire',
      'release',
      'acquireError',
      'validation',
      'enqueue',
      'timeout',
    ] as const) {
      this.pool.on(e, (p: Record<string, unknown>) => {
        const conn = p.connection as { id?: number } | undefined;
        log('pool', e, p.connectionId ?? conn?.id ?? '', p.reason ?? p.outcome ?? (p.error as Error | undefined)?.message ?? '');
      });
    }
  }

  get maxSize(): number {
    return this.pool.config.maxSize;
  }

  /** Issues an acquire and records it; never awaits it. */
  acquire(timeoutMs: number, priority: QueuePriority, partitionPick: number, label: string | undefined, task = -1): AcquireRecord {
    const controller = new AbortController();
    const spec = this.manager === null ? undefined : this.partitions[partitionPick % this.partitions.length];
    const record: AcquireRecord = {
      n: this.acquires.length,
      deadline: performance.now() + Math.ceil(timeoutMs),
      controller,
      partition: spec?.id ?? null,
      suspendEpoch: this.suspended ? this.suspendEpoch : null,
      afterClose: this.closing !== null,
      state: 'pending',
    };
    this.acquires.push(record);
    const options = { timeoutMs, priority, signal: controller.signal, ...(label === undefined ? {} : { label }) };
    let promise: Promise<PooledConnection<ControlledConnection>>;
    try {
      const go = (): Promise<PooledConnection<ControlledConnection>> =>
        this.manager === null || spec === undefined ? this.pool.acquire(options) : this.manager.acquire({ tenant: spec.tenant }, options);
      const inTask = this.tasks[task];
      promise = inTask === undefined ? go() : inTask(go);
    } catch (error) {
      this.surprises.push(`acquire threw synchronously: ${String(error)}`);
      record.state = 'failed';
      record.error = error;
      return record;
    }
    promise.then(
      (handle) => {
        record.state = 'served';
        record.handle = handle;
        let raw: ControlledConnection;
        try {
          raw = handle.connection;
        } catch (error) {
          this.surprises.push(`a just-served handle was unusable: ${String(error)}`);
          return;
        }
        this.held.push({ handle, raw, partition: record.partition });
      },
      (error: unknown) => {
        record.state = 'failed';
        record.error = error;
        if (!(error instanceof PoolError)) this.surprises.push(`acquire #${record.n} rejected with a non-PoolError: ${String(error)}`);
      },
    );
    return record;
  }

  /** Moves handles the pool ended on its own (reclaim, forced close) out of `held`. */
  sweep(): void {
    const still: Held[] = [];
    for (const h of this.held) {
      if (h.handle.released) this.ended.push(h.handle);
      else still.push(h);
    }
    this.held = still;
  }

  pick(i: number): Held | undefined {
    this.sweep();
    if (this.held.length === 0) return undefined;
    const [h] = this.held.splice(i % this.held.length, 1);
    return h;
  }

  /** Calls `fn`, which must throw an instance of `type`; records a surprise otherwise. */
  expectThrow(what: string, type: new (...args: never[]) => Error, fn: () => unknown): void {
    try {
      fn();
    } catch (error) {
      if (!(error instanceof type)) this.surprises.push(`${what} threw ${String(error)}, expected ${type.name}`);
      return;
    }
    this.surprises.push(`${what} did not throw ${type.name}`);
  }

  /** The invariants checked after every command. */
  check(): void {
    this.sweep();
    const { pool, factory } = this;
    const size = pool.size();
    const stats = pool.statistics();
    const t = performance.now();
    expect(this.surprises, 'surprises').toEqual([]);
    // Size bounds: never above maxSize, except just after a shrink, and then only shrinking.
    const over = Math.max(0, size.total + size.pending - this.maxSize);
    expect(over, `total ${size.total} + pending ${size.pending} over maxSize ${this.maxSize}`).toBeLessThanOrEqual(this.excess);
    this.excess = over;
    // Nothing leaked: every connection the factory holds open is one the pool knows.
    expect(factory.open.size, 'connections open in the factory vs pool total').toBe(size.total);
    expect(stats.connectionsCreated - stats.connectionsDestroyed).toBe(size.total);
    expect(factory.doubleCloses, 'double closes').toBe(0);
    expect(factory.usesAfterClose, 'uses after close').toBe(0);
    // No double hand-out; nothing handed out is closed.
    const raws = this.held.map((h) => h.raw);
    expect(new Set(raws).size, 'a connection held by two borrowers').toBe(raws.length);
    for (const raw of raws) expect(raw.closeCalls, `held connection ${raw.serial} was closed`).toBe(0);
    // Counters add up. Through a manager, a connection can also be in the manager's hands for a
    // moment (between the pool's hand-over and the caller, while the partition's prepare hook runs):
    // those count as the partition's `acquiring`.
    const inManager = this.manager === null ? 0 : Object.values(this.manager.getPartitionStatistics()).reduce((n, p) => n + p.acquiring, 0);
    const outstanding = stats.acquired - stats.released;
    expect(outstanding, 'acquired - released vs live borrows').toBeGreaterThanOrEqual(this.held.length);
    expect(outstanding, 'acquired - released vs live borrows (+ partitions acquiring)').toBeLessThanOrEqual(this.held.length + inManager);
    expect(size.active).toBeGreaterThanOrEqual(this.held.length);
    const served = this.acquires.filter((a) => a.state === 'served').length;
    const failed = this.acquires.filter((a) => a.state === 'failed').length;
    if (this.manager === null) {
      expect(stats.acquired, 'pool acquired vs callers served').toBe(served);
      expect(stats.acquireFailures, 'pool acquireFailures vs callers failed').toBe(failed);
    } else {
      const parts = this.manager.getPartitionStatistics();
      let acquired = 0;
      let rejected = 0;
      for (const spec of this.partitions) {
        const p = parts[spec.id];
        if (p === undefined) throw new Error(`partition ${spec.id} vanished`);
        acquired += p.connectionsAcquired;
        for (const n of Object.values(p.rejections)) rejected += n;
        const live = this.held.filter((h) => h.partition === spec.id).length;
        // A connection its partition is still preparing is neither active nor released; one the
        // preparation never delivered (failed, cut short, taken back by the pool) is never released.
        expect(p.active, `partition ${spec.id} active vs held`).toBe(live);
        expect(p.connectionsAcquired - p.connectionsReleased, `partition ${spec.id} acquired - released`).toBe(live);
        // Partitions within limits (after a lowering, only shrinking towards them).
        const overHeld = Math.max(0, p.active + p.acquiring - spec.maxConnections);
        expect(overHeld, `partition ${spec.id} over maxConnections ${spec.maxConnections}`).toBeLessThanOrEqual(spec.excessHeld);
        spec.excessHeld = overHeld;
        const overWaiting = Math.max(0, p.waiting - spec.maxWaitQueue);
        expect(overWaiting, `partition ${spec.id} queue over maxWaitQueue ${spec.maxWaitQueue}`).toBeLessThanOrEqual(spec.excessWaiting);
        spec.excessWaiting = overWaiting;
        expect(p.limits.maxConnections).toBe(spec.maxConnections);
      }
      expect(acquired, 'partition acquisitions vs callers served').toBe(served);
      expect(rejected, 'partition rejections vs callers failed').toBe(failed);
    }
    // Every acquire settles by its deadline, with a PoolError when it fails.
    for (const a of this.acquires) {
      if (a.deadline <= t) expect(a.state, `acquire #${a.n} due at ${a.deadline}, now ${t}`).not.toBe('pending');
      if (a.state === 'failed') expect(a.error).toBeInstanceOf(PoolError);
      if (a.afterClose) expect(a.state, `acquire #${a.n} issued after close()`).not.toBe('served');
      // Nobody who arrived during a suspension is served before it ends.
      if (a.state === 'served' && this.suspended && a.suspendEpoch === this.suspendEpoch) {
        throw new Error(`acquire #${a.n} was served while the pool is suspended`);
      }
    }
    if (this.closed) {
      expect(size.total + size.pending, 'open after close').toBe(0);
      expect(this.held.length, 'live borrows after close').toBe(0);
    }
  }
}

/** Lets pending callbacks run without moving the fake clock. */
export async function settle(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
}

type Cmd = fc.AsyncCommand<Record<string, never>, Run>;

abstract class Base implements Cmd {
  check(): boolean {
    return true;
  }
  abstract act(r: Run): void | Promise<void>;
  async run(_m: Record<string, never>, r: Run): Promise<void> {
    await this.act(r);
    await settle();
    r.check();
  }
  abstract toString(): string;
}

/** Issues an acquire (direct or through a partition) with a timeout, a priority, an abort signal and maybe a label. */
export class Acquire extends Base {
  constructor(
    readonly timeoutMs: number,
    readonly priority: QueuePriority,
    readonly partition: number,
    readonly label: string | undefined,
    readonly task: number,
  ) {
    super();
  }
  act(r: Run): void {
    r.acquire(this.timeoutMs, this.priority, this.partition, this.label, this.task);
  }
  toString(): string {
    const task = this.task < 0 ? '' : `, task${this.task}`;
    return `acquire(${this.timeoutMs}, ${this.priority}, p${this.partition}${this.label === undefined ? '' : `, ${this.label}`}${task})`;
  }
}

/** Ends a live borrow: release, release with error, destroy, dirty, relabel or dispose. */
export class Release extends Base {
  constructor(
    readonly pick: number,
    readonly how: 'release' | 'error' | 'destroy' | 'dirty' | 'label' | 'dispose',
  ) {
    super();
  }
  async act(r: Run): Promise<void> {
    const h = r.pick(this.pick);
    if (h === undefined) return;
    r.ended.push(h.handle);
    try {
      if (this.how === 'release') h.handle.release();
      else if (this.how === 'error') h.handle.release({ error: new Error('query failed') });
      else if (this.how === 'dirty') {
        h.raw.dirty = true;
        h.handle.release();
      } else if (this.how === 'label') {
        h.handle.label = `l${this.pick % 2}`;
        h.handle.release();
      } else if (this.how === 'dispose') await h.handle[Symbol.asyncDispose]();
      else void h.handle.destroy(new Error('broken'));
    } catch (error) {
      r.surprises.push(`${this.how} of a live borrow threw ${String(error)}`);
    }
  }
  toString(): string {
    return `${this.how}(#${this.pick})`;
  }
}

/** Misuse: every one must throw the documented PoolError and change nothing. */
export class Misuse extends Base {
  constructor(
    readonly pick: number,
    readonly how: 'releaseTwice' | 'destroyTwice' | 'useAfterRelease' | 'wrongPool' | 'labelAfterRelease',
  ) {
    super();
  }
  act(r: Run): void {
    const before = r.pool.statistics();
    if (this.how === 'wrongPool') {
      r.sweep();
      const h = r.held[this.pick % Math.max(1, r.held.length)];
      if (h === undefined) return;
      r.expectThrow('release to the wrong pool', InvalidArgumentError, () => r.other.release(h.handle));
      if (h.handle.released) r.surprises.push('release to the wrong pool ended the borrow');
    } else {
      const e = r.ended[this.pick % Math.max(1, r.ended.length)];
      if (e === undefined) return;
      if (this.how === 'releaseTwice') r.expectThrow('a second release', ConnectionReleasedError, () => e.release());
      else if (this.how === 'destroyTwice') r.expectThrow('destroy after release', ConnectionReleasedError, () => e.destroy());
      else if (this.how === 'labelAfterRelease')
        r.expectThrow('setting a label after release', ConnectionReleasedError, () => {
          e.label = 'stale';
        });
      else r.expectThrow('using a released connection', ConnectionReleasedError, () => e.connection);
    }
    const after = r.pool.statistics();
    if (after.released !== before.released || after.acquired !== before.acquired) r.surprises.push(`${this.how} changed the counters`);
  }
  toString(): string {
    return `misuse:${this.how}(#${this.pick})`;
  }
}

/** Aborts a pending acquire's signal. */
export class Abort extends Base {
  constructor(readonly pick: number) {
    super();
  }
  act(r: Run): void {
    const pending = r.acquires.filter((a) => a.state === 'pending');
    pending[this.pick % Math.max(1, pending.length)]?.controller.abort(new Error('caller gave up'));
  }
  override async run(m: Record<string, never>, r: Run): Promise<void> {
    const pending = r.acquires.filter((a) => a.state === 'pending');
    const target = pending[this.pick % Math.max(1, pending.length)];
    await super.run(m, r);
    // An aborted acquire settles at once (served just before, or failed).
    if (target !== undefined) expect(target.state, `aborted acquire #${target.n}`).not.toBe('pending');
  }
  toString(): string {
    return `abort(#${this.pick})`;
  }
}

/** Moves the fake clock. */
export class Advance extends Base {
  constructor(readonly ms: number) {
    super();
  }
  async act(): Promise<void> {
    await vi.advanceTimersByTimeAsync(this.ms);
  }
  toString(): string {
    return `advance(${this.ms})`;
  }
}

/** Runs a maintenance pass now. */
export class Maintain extends Base {
  act(r: Run): void {
    r.pool.runMaintenance();
  }
  toString(): string {
    return 'maintenance()';
  }
}

/** Resizes the pool (an invalid pair must be refused and change nothing). */
export class Resize extends Base {
  constructor(
    readonly minSize: number,
    readonly maxSize: number,
  ) {
    super();
  }
  act(r: Run): void {
    if (r.closing !== null) {
      r.expectThrow('resize after close', PoolClosedError, () => r.pool.resize({ minSize: this.minSize, maxSize: this.maxSize }));
      return;
    }
    const before = r.pool.config;
    if (this.minSize > this.maxSize) {
      r.expectThrow('resize with minSize > maxSize', InvalidConfigError, () =>
        r.pool.resize({ minSize: this.minSize, maxSize: this.maxSize }),
      );
      if (r.pool.config !== before) r.surprises.push('a refused resize changed the config');
      return;
    }
    try {
      r.pool.resize({ minSize: this.minSize, maxSize: this.maxSize });
    } catch (error) {
      r.surprises.push(`a valid resize threw ${String(error)}`);
    }
    const size = r.pool.size();
    r.excess = Math.max(r.excess, size.total + size.pending - this.maxSize);
  }
  toString(): string {
    return `resize(${this.minSize}, ${this.maxSize})`;
  }
}

/** Suspends or resumes the pool. */
export class Suspend extends Base {
  constructor(readonly on: boolean) {
    super();
  }
  act(r: Run): void {
    if (r.closing !== null) {
      r.expectThrow(this.on ? 'suspend after close' : 'resume after close', PoolClosedError, () =>
        this.on ? r.pool.suspend() : r.pool.resume(),
      );
      return;
    }
    if (this.on) {
      if (!r.suspended) r.suspendEpoch++;
      r.pool.suspend();
      r.suspended = true;
    } else {
      r.pool.resume();
      r.suspended = false;
    }
  }
  toString(): string {
    return this.on ? 'suspend()' : 'resume()';
  }
}

/** Soft-evicts idle connections. */
export class Evict extends Base {
  act(r: Run): void {
    if (r.closing !== null) r.expectThrow('evictIdle after close', PoolClosedError, () => r.pool.evictIdle());
    else r.pool.evictIdle();
  }
  toString(): string {
    return 'evictIdle()';
  }
}

/** Takes a live borrow back by force. */
export class Reclaim extends Base {
  constructor(readonly pick: number) {
    super();
  }
  act(r: Run): void {
    r.sweep();
    const h = r.held[this.pick % Math.max(1, r.held.length)];
    if (h === undefined) return;
    if (!r.pool.reclaim(h.handle.id)) r.surprises.push(`reclaim(${h.handle.id}) of a live borrow returned false`);
    if (!h.handle.released) r.surprises.push('a reclaimed handle still works');
  }
  toString(): string {
    return `reclaim(#${this.pick})`;
  }
}

/** Changes a partition's limits at run time (a tenant moved to another tier). */
export class SetLimits extends Base {
  constructor(
    readonly pick: number,
    readonly maxConnections: number,
    readonly minConnections: number,
    readonly maxWaitQueue: number,
    readonly ioLimit: number | null,
    readonly cpuLimitMs: number | null,
  ) {
    super();
  }
  act(r: Run): void {
    const manager = r.manager;
    const spec = r.partitions[this.pick % Math.max(1, r.partitions.length)];
    if (manager === null || spec === undefined) return;
    const limits = {
      maxConnections: this.maxConnections,
      minConnections: this.minConnections,
      maxWaitQueue: this.maxWaitQueue,
      ioLimit: this.ioLimit,
      cpuLimitMs: this.cpuLimitMs,
    };
    let applied: { maxConnections: number; minConnections: number; maxWaitQueue: number } | null = null;
    try {
      applied = manager.setLimits(spec.id, limits);
    } catch (error) {
      // Refused: minConnections above maxConnections, or the reservations no longer fit in the pool.
      if (!(error instanceof InvalidConfigError)) r.surprises.push(`setLimits threw ${String(error)}`);
    }
    if (applied === null) return;
    const stats = manager.getPartitionStatistics()[spec.id];
    spec.maxConnections = applied.maxConnections;
    spec.minConnections = applied.minConnections;
    spec.maxWaitQueue = applied.maxWaitQueue;
    if (stats !== undefined) {
      spec.excessHeld = Math.max(spec.excessHeld, stats.active + stats.acquiring - applied.maxConnections);
      spec.excessWaiting = Math.max(spec.excessWaiting, stats.waiting - applied.maxWaitQueue);
    }
  }
  toString(): string {
    return `setLimits(p${this.pick}, max ${this.maxConnections}, min ${this.minConnections}, queue ${this.maxWaitQueue}, io ${this.ioLimit}, cpu ${this.cpuLimitMs})`;
  }
}

/** Changes how a factory operation behaves, for good or for its next call. */
export class FactoryMode extends Base {
  constructor(
    readonly op: 'create' | 'validate' | 'reset' | 'close' | 'prepare',
    readonly behaviour: Behaviour,
    readonly once: boolean,
  ) {
    super();
  }
  act(r: Run): void {
    if (this.op === 'prepare') r.prepareMode = this.behaviour;
    else if (this.once) r.factory.plan[this.op].push(this.behaviour);
    else r.factory.mode[this.op] = this.behaviour;
  }
  toString(): string {
    return `${this.op}${this.once ? ' once' : ''}:${this.behaviour}`;
  }
}

/** Makes an open connection unhealthy (validation fails) or reports it broken. */
export class Sicken extends Base {
  constructor(readonly pick: number) {
    super();
  }
  act(r: Run): void {
    const open = [...r.factory.open];
    const victim = open[this.pick % Math.max(1, open.length)];
    if (victim === undefined) return;
    if (this.pick % 2 === 0) victim.healthy = false;
    else victim.markBroken(new Error('server closed the connection'));
  }
  toString(): string {
    return `sicken(#${this.pick})`;
  }
}

/** Closes the pool in the middle of the run (every later command must be refused cleanly). */
export class Close extends Base {
  act(r: Run): void {
    if (r.closing !== null) {
      // Idempotent: the same promise.
      if (r.pool.close() !== r.closing) r.surprises.push('a second close() returned another promise');
      return;
    }
    r.closing = r.pool.close();
    void r.closing.then(() => {
      r.closed = true;
    });
  }
  toString(): string {
    return 'close()';
  }
}

const priorities: QueuePriority[] = ['critical', 'high', 'normal', 'low'];

/** The commands fast-check draws from, weighted towards acquire and release. */
export const commandArbitraries: fc.Arbitrary<Cmd>[] = (() => {
  const acquire = fc
    .tuple(
      fc.integer({ min: 1, max: 600 }),
      fc.constantFrom(...priorities),
      fc.nat(3),
      fc.option(fc.constantFrom('l0', 'l1'), { nil: undefined, freq: 4 }),
      fc.integer({ min: -1, max: 2 }),
    )
    .map(([t, p, part, label, task]) => new Acquire(t, p, part, label, task));
  const release = fc
    .tuple(
      fc.nat(),
      fc.constantFrom('release', 'release', 'release', 'error', 'destroy', 'dirty', 'label', 'dispose') as fc.Arbitrary<Release['how']>,
    )
    .map(([i, how]) => new Release(i, how));
  const behaviours: Record<FactoryMode['op'], Behaviour[]> = {
    create: ['ok', 'ok', 'fail', 'throw', 'hang', 'deaf'],
    validate: ['ok', 'ok', 'fail', 'throw', 'hang', 'false', 'deaf'],
    reset: ['ok', 'ok', 'fail', 'throw', 'hang', 'deaf'],
    close: ['ok', 'ok', 'fail', 'throw', 'hang', 'deaf'],
    prepare: ['ok', 'ok', 'ok', 'fail', 'throw', 'hang', 'deaf'],
  };
  const factoryMode = fc
    .constantFrom('create', 'validate', 'reset', 'close', 'prepare' as const)
    .chain((op) => fc.tuple(fc.constant(op), fc.constantFrom(...behaviours[op]), fc.boolean()))
    .map(([op, b, once]) => new FactoryMode(op, b, once));
  return [
    acquire,
    acquire,
    acquire,
    acquire,
    release,
    release,
    release,
    fc.integer({ min: 1, max: 400 }).map((ms) => new Advance(ms)),
    fc.integer({ min: 1, max: 400 }).map((ms) => new Advance(ms)),
    fc.nat().map((i) => new Abort(i)),
    factoryMode,
    factoryMode,
    fc.nat().map((i) => new Sicken(i)),
    fc.constant(new Maintain()),
    fc.tuple(fc.nat(3), fc.integer({ min: 1, max: 4 })).map(([min, max]) => new Resize(min, max)),
    fc.boolean().map((on) => new Suspend(on)),
    fc.constant(new Evict()),
    fc.nat().map((i) => new Reclaim(i)),
    fc
      .tuple(
        fc.nat(1),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 0, max: 4 }),
        fc.option(fc.integer({ min: 2, max: 20 }), { nil: null, freq: 2 }),
        fc.option(fc.integer({ min: 200, max: 2_000 }), { nil: null, freq: 2 }),
      )
      .map(([p, max, min, queue, io, cpu]) => new SetLimits(p, max, min, queue, io, cpu)),
    fc
      .tuple(
        fc.nat(),
        fc.constantFrom('releaseTwice', 'destroyTwice', 'useAfterRelease', 'wrongPool', 'labelAfterRelease') as fc.Arbitrary<Misuse['how']>,
      )
      .map(([i, how]) => new Misuse(i, how)),
    // Rare: a close in the middle, after which everything must be refused cleanly.
    fc.integer({ min: 0, max: 9 }).map((n) => (n === 0 ? new Close() : new Advance(1 + n))),
  ];
})();

/** The pool settings of one run. */
export const settingsArbitrary: fc.Arbitrary<RunSettings> = fc
  .record({
    minSize: fc.integer({ min: 0, max: 2 }),
    maxSize: fc.integer({ min: 2, max: 4 }),
    validateOnAcquire: fc.boolean(),
    validateOnRelease: fc.boolean(),
    fairQueue: fc.boolean(),
    recycling: fc.constantFrom('fast', 'checked', 'replace', 'adaptive') as fc.Arbitrary<RecyclingStrategy>,
    maxWaitQueueSize: fc.integer({ min: 0, max: 6 }),
    creationThrottle: fc.option(fc.integer({ min: 5, max: 50 }), { nil: null }),
    partitioned: fc.boolean(),
    starvation: fc.boolean(),
    aging: fc.constantFrom('none', 'none', 'usage', 'combined', 'adaptive') as fc.Arbitrary<RunSettings['aging']>,
    fastValidation: fc.boolean(),
    deadlock: fc.boolean(),
    prepare: fc.boolean(),
  })
  .map((s) => ({ ...s, minSize: Math.min(s.minSize, s.maxSize) }));

/**
 * After the random commands: the pool must heal (faults cleared, borrows returned, then an acquire
 * succeeds within the retry bound) unless it was closed, and then close completely within its bounds.
 */
export async function finish(r: Run): Promise<void> {
  r.check();
  if (r.closing === null) {
    r.factory.heal();
    r.prepareMode = 'ok';
    // Budgets are the partition's business, not a fault: lift them for the heal check.
    // (setLimits re-checks the reservations against the pool's current maxSize, so after a resize
    // below them it refuses even this; the budgets then stay, and such runs are rare.)
    const budgeted = new Set<string>();
    for (const spec of r.partitions) {
      try {
        r.manager?.setLimits(spec.id, { ioLimit: null, cpuLimitMs: null });
      } catch (error) {
        if (!(error instanceof InvalidConfigError)) throw error;
        const limits = r.manager?.partition(spec.id)?.limits;
        if (limits !== undefined && (limits.ioLimit !== null || limits.cpuLimitMs !== null)) budgeted.add(spec.id);
      }
    }
    if (r.suspended) {
      r.pool.resume();
      r.suspended = false;
    }
    // Let hung and deaf operations run out, every pending acquire reach its deadline and backoff
    // expire; return every borrow (also those served meanwhile); then everything must work again.
    await vi.advanceTimersByTimeAsync(DEAF_MS + CREATE_TIMEOUT + RETRY_MAX * 2);
    r.sweep();
    for (const h of r.held.splice(0)) {
      r.ended.push(h.handle);
      h.handle.release();
    }
    await vi.advanceTimersByTimeAsync(RETRY_MAX * 2);
    r.check();
    // The whole capacity is usable again: nothing is stuck validating, resetting or pending. Through a
    // partition, that is its cap and what the other partitions' reservations leave of the pool (the
    // partition with the most; none at all when reservations hold the whole pool).
    let pickIndex = 0;
    let capacity = r.maxSize;
    if (r.manager !== null) {
      const caps = r.partitions.map((p, i) => {
        const others = r.partitions.reduce((n, q, j) => (j === i ? n : n + q.minConnections), 0);
        return Math.min(p.maxConnections, r.maxSize - others);
      });
      // A partition whose budget could not be lifted is not judged on capacity.
      const judged = caps.map((c, i) => (budgeted.has(r.partitions[i]?.id ?? '') ? Number.NEGATIVE_INFINITY : c));
      capacity = Math.max(...judged);
      pickIndex = judged.indexOf(capacity);
    }
    const spec = r.partitions[pickIndex];
    const recs = Array.from({ length: Math.max(0, capacity) }, () => r.acquire(ACQUIRE_TIMEOUT, 'normal', pickIndex, undefined));
    await vi.advanceTimersByTimeAsync(ACQUIRE_TIMEOUT);
    const where = spec === undefined ? '' : ` (partition ${spec.id})`;
    const states = JSON.stringify(r.pool.connections().map((c) => [c.id, c.state, c.retiring]));
    for (const rec of recs) {
      expect(rec.state, `the pool did not heal${where}: ${String(rec.error)}; connections ${states}`).toBe('served');
    }
    r.check();
  }
  // Close with borrows outstanding and faults possibly active: it must still end with nothing open.
  // close() waits closeTimeoutMs for borrows, then bounds each factory.close() by closeTimeoutMs. A
  // connect that ignores its abort signal and lands while close() runs is closed too, and awaited
  // (so that nothing is open once close() resolves): that adds at most its arrival plus one close bound.
  const bound = 2 * CLOSE_TIMEOUT + (r.factory.deafCreatesInFlight > 0 ? DEAF_MS + CLOSE_TIMEOUT : 0);
  const closing = r.closing ?? r.pool.close();
  let done = false;
  void closing.then(() => {
    done = true;
  });
  r.closing = closing;
  await vi.advanceTimersByTimeAsync(bound + 1);
  expect(done, `close() finished within ${bound} ms`).toBe(true);
  await closing;
  r.closed = true;
  await r.manager?.close();
  // Deaf creates still in flight arrive and must be closed at once.
  await vi.advanceTimersByTimeAsync(DEAF_MS + CREATE_TIMEOUT);
  expect(r.pool.state).toBe('closed');
  for (const a of r.acquires) expect(a.state, `acquire #${a.n} still pending after close`).not.toBe('pending');
  r.check();
  expect(r.factory.open.size, 'connections open after close').toBe(0);
  for (const c of r.factory.all) expect(c.closeCalls, `connection ${c.serial} close calls`).toBe(1);
  const s = r.pool.statistics();
  expect(s.connectionsCreated).toBe(s.connectionsDestroyed);
  expect(s.acquired).toBe(s.released);
  // Acquire after close: refused with PoolClosedError.
  await expect(r.pool.acquire()).rejects.toBeInstanceOf(PoolClosedError);
  await r.other.close();
}
