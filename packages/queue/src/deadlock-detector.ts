import {
  type ConnectionPool,
  InvalidArgumentError,
  InvalidConfigError,
  MAX_TIMER_MS,
  type PooledConnection,
  type Waiter,
} from '@pool/core';
import { DeadlockError, type DeadlockKind } from './errors.js';
import { checkOptionKeys, isBoostable, isPool } from './internal.js';
import { AsyncOwnerScope, TaskScope } from './owner-scope.js';
import type { PriorityWaitQueue } from './priority-wait-queue.js';

type AnyPool = ConnectionPool<unknown>;
type Handle = PooledConnection<unknown>;

/** Options of a {@link DeadlockDetector}. */
export interface DeadlockDetectorOptions {
  /**
   * Switches detection on (default `true`). When `false` the detector installs nothing: `ownerScope` is
   * `null`, so the pool tracks no owners, `attach()` does nothing and nothing is paid on any path.
   */
  enabled?: boolean;
  /**
   * Fail the waiters of a detected deadlock at once with `DeadlockError` (default `true`). With `false`
   * the detector only reports (statistics and `onDeadlock`) and the waiters wait out their timeout.
   */
  failWaiters?: boolean;
  /**
   * How long a suspected deadlock must last before it is acted on, in ms (default `0`).
   *
   * A deadlock is suspected when an acquire arrives (or a waiting task is handed a connection) while
   * every connection is held by a task that waits for this pool. It is only confirmed, and its waiters
   * failed and reported, if it is still there later with the same connections still held: `0` checks
   * again on the next event-loop turn (`setImmediate`, after every pending promise callback ran), so a
   * holder that started a nested acquire without awaiting it and then releases is not mistaken for a
   * deadlock; a value greater than `0` checks again after that many ms (an unref'd timer). Raise it if
   * your code starts nested acquires without awaiting them and keeps its own connection across I/O:
   * async-context tracking alone cannot tell that apart from a deadlock until the connection is
   * released. A finite number from `0` to `2147483647`.
   */
  confirmAfterMs?: number;
  /** Called once per detected deadlock, after its waiters were failed. A throwing callback is contained. */
  onDeadlock?: ((report: DeadlockReport) => void) | null;
}

/** One task holding connections of a deadlocked pool. */
export interface DeadlockTask {
  /** The task (see `TaskScope`); `task.parent` links to the task it runs inside. */
  readonly task: TaskScope;
  /** The connections it holds: id, how long held so far, and where acquired (with `captureStacks`). */
  /**
   * The connections the task holds. `heldMs` is known when the pool measures borrow times (leak
   * detection, a monitor, `requestBorrowTiming()`); the detector does not turn that cost on itself.
   */
  readonly connections: readonly { readonly id: number; readonly heldMs: number | undefined; readonly stack: string | undefined }[];
  /** Ids of the waiters of this pool queued by this task or by tasks running inside it. */
  readonly waiterIds: readonly number[];
}

/** What {@link DeadlockDetector.checkDeadlock} found. */
export interface DeadlockReport {
  /** True when every connection is held by a task that is itself waiting for the same pool. */
  readonly deadlocked: boolean;
  /** `'self'`: one task holds every connection and waits for another; `'nested'`: several tasks; null when not deadlocked. */
  readonly kind: DeadlockKind | null;
  /** The pool checked (null for a standalone queue or a disabled detector). */
  readonly poolName: string | null;
  /** Its `maxSize` (0 when no pool). */
  readonly maxSize: number;
  /** The tasks holding the pool's connections while waiting (empty when not deadlocked). */
  readonly tasks: readonly DeadlockTask[];
  /** The waiters that can never be served (empty when not deadlocked). */
  readonly waiters: readonly Waiter[];
  /** A human explanation: the deadlock, or why there is none. */
  readonly description: string;
  /** Epoch ms of the check. */
  readonly detectedAt: number;
}

/** Counters of a {@link DeadlockDetector} (the seed's `detector.statistics()`). */
export interface DeadlockStatistics {
  /** Whether detection is on. */
  enabled: boolean;
  /** Deadlocks found (automatically or by `checkDeadlock`); one deadlock found again is counted once. */
  deadlocksDetected: number;
  /** Waiters failed with `DeadlockError`. */
  waitersFailed: number;
  /** Acquires made by a task that already held a connection of the same pool (deadlock-prone code). */
  nestedAcquires: number;
  /** Full checks run (only when a pool was exhausted). */
  checks: number;
  /** Pools attached now. */
  poolsAttached: number;
}

interface Group {
  task: TaskScope;
  handles: Handle[];
  waiters: Waiter[];
}

type Analysis =
  | { deadlocked: false; reason: string }
  | { deadlocked: true; kind: DeadlockKind; pool: AnyPool; maxSize: number; groups: Group[]; waiters: Waiter[] };

/** Per attached pool: who waits and who holds, by task. Entries are pruned lazily. */
class PoolWatch {
  /** Unsettled (and settled, until pruned) waiters of this pool queued by a task or any task inside it. */
  readonly waiting = new WeakMap<TaskScope, Waiter[]>();
  /** Borrows of this pool by a task (released ones until pruned). */
  readonly held = new WeakMap<TaskScope, Handle[]>();
  /** Where nested acquires were called, when the pool captures stacks. */
  readonly stacks = new WeakMap<Waiter, { stack?: string }>();
  /** A microtask re-check after a hand-over is queued. */
  scheduled = false;
  /**
   * The pending confirmation of a suspected deadlock (at most one per pool): its timer, and the borrows
   * that held every connection when it was suspected.
   */
  confirmation: { timer: NodeJS.Immediate | NodeJS.Timeout; suspected: ReadonlySet<Handle> } | null = null;

  constructor(readonly pool: AnyPool) {}
}

const isSettled = (w: Waiter): boolean => w.settled;
const isReleased = (h: Handle): boolean => h.released;

function prune<T>(list: T[], dead: (item: T) => boolean): T[] {
  let j = 0;
  for (let i = 0; i < list.length; i++) {
    const item = list[i] as T;
    if (!dead(item)) list[j++] = item;
  }
  list.length = j;
  return list;
}

/**
 * True when `list` has a live item. Amortized O(1): it stops at the first live item, and compacts the
 * list when the dead items in front of it are more than half of it.
 */
function hasLive<T>(list: T[], dead: (item: T) => boolean): boolean {
  for (let i = 0; i < list.length; i++) {
    if (dead(list[i] as T)) continue;
    if (i >= 8 && i * 2 > list.length) prune(list, dead);
    return true;
  }
  list.length = 0;
  return false;
}

/** Appends, compacting at powers of two from 8 on: amortized O(1), and a long-lived task cannot grow a list forever. */
function pushCompact<T>(list: T[], item: T, dead: (item: T) => boolean): void {
  const n = list.length;
  if (n >= 8 && (n & (n - 1)) === 0) prune(list, dead);
  list.push(item);
}

function frames(stack: string | undefined, max = 8): string {
  if (stack === undefined) return '';
  const lines = stack.split('\n').filter((l) => /^\s+at /.test(l));
  return lines
    .slice(0, max)
    .map((l) => `      ${l.trim()}`)
    .join('\n');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * Detects the classic connection-pool deadlock of Node.js code: every connection is held by a task that
 * is itself waiting for another connection from the same pool (a nested `pool.use()` or `acquire()`),
 * so nobody ever releases one and everyone waits until timeout. The detector fails those waiters at
 * once with `DeadlockError`, saying which acquire is nested (and where, when the pool captures stacks),
 * instead of letting the whole pool hang for `acquireTimeoutMs`.
 *
 * How: its `ownerScope` (built on `AsyncLocalStorage`) tells the pool which task calls `acquire()`;
 * tasks started inside other tasks (`pool.use()` inside `pool.use()`) link to their parent, so a
 * connection held by the outer task counts as waiting while a task inside it waits. When a waiter
 * arrives, or a waiting task is handed a connection, and the pool is exhausted (nothing idle, nothing
 * being opened, `maxSize` reached) while every borrower is itself waiting, a deadlock is suspected. It
 * is confirmed, and acted on, only if it is still there on the next event-loop turn (or after
 * `confirmAfterMs`) with the same borrows holding every connection: a holder that started a nested
 * acquire without awaiting it and releases meanwhile is no deadlock. The check runs only for acquires
 * made while the same task holds a connection, and costs O(connections) only when the pool is
 * exhausted. Each maintenance pass checks too, as a safety net.
 *
 * No false alarms from: a borrow made outside any task (neither in `pool.use()` nor `detector.run()`),
 * a connection being validated or reset, an idle connection, room to open another, one borrower that
 * is not waiting, or a holder that releases within the confirmation window. Known limits: a holder that
 * starts a nested acquire without awaiting it and keeps its own connection for longer than the window
 * (across I/O) looks exactly like a deadlock to async-context tracking (raise `confirmAfterMs`), and
 * deadlocks across two pools are not detected (their waits still end at their timeouts).
 *
 * @example
 * ```ts
 * const detector = new DeadlockDetector({ enabled: true });
 * const pool = await ConnectionPool.create(config, factory, { ownerScope: detector.ownerScope });
 * detector.attach(pool);
 * const report = detector.checkDeadlock(pool);
 * console.log(`Deadlocks detected: ${detector.statistics().deadlocksDetected}`);
 * ```
 */
export class DeadlockDetector {
  /** Whether detection is on. */
  readonly enabled: boolean;
  /** Whether detected deadlocks fail their waiters (otherwise they are only reported). */
  readonly failWaiters: boolean;
  /** How long a suspected deadlock must last before it is acted on (`0`: the next event-loop turn). */
  readonly confirmAfterMs: number;
  /**
   * Give it to the pool: `ConnectionPool.create(config, factory, { ownerScope: detector.ownerScope })`.
   * `null` when detection is disabled, so the pool installs nothing.
   */
  readonly ownerScope: AsyncOwnerScope | null;
  readonly #onDeadlock: ((report: DeadlockReport) => void) | null;
  readonly #watches = new Map<AnyPool, { watch: PoolWatch; detach: () => void }>();
  readonly #reported = new WeakSet<Waiter>();
  readonly #reportWatch = new WeakMap<DeadlockReport, PoolWatch>();
  #deadlocks = 0;
  #failed = 0;
  #nested = 0;
  #checks = 0;

  /** Throws `InvalidConfigError` naming the option when one is invalid or unknown. */
  constructor(options: DeadlockDetectorOptions = {}) {
    const o = checkOptionKeys(options, ['enabled', 'failWaiters', 'confirmAfterMs', 'onDeadlock'], 'DeadlockDetector');
    for (const key of ['enabled', 'failWaiters'] as const) {
      if (o[key] !== undefined && typeof o[key] !== 'boolean') throw new InvalidConfigError(key, o[key], 'must be true or false');
    }
    const c = o.confirmAfterMs;
    if (c !== undefined && (typeof c !== 'number' || !Number.isFinite(c) || c < 0 || c > MAX_TIMER_MS)) {
      throw new InvalidConfigError(
        'confirmAfterMs',
        c,
        `must be a finite number of milliseconds from 0 (the next event-loop turn) to ${MAX_TIMER_MS}`,
      );
    }
    if (o.onDeadlock != null && typeof o.onDeadlock !== 'function') {
      throw new InvalidConfigError('onDeadlock', o.onDeadlock, 'must be a function (report) => void, or null');
    }
    this.enabled = (o.enabled as boolean | undefined) ?? true;
    this.failWaiters = (o.failWaiters as boolean | undefined) ?? true;
    this.confirmAfterMs = (c as number | undefined) ?? 0;
    this.#onDeadlock = (o.onDeadlock as ((report: DeadlockReport) => void) | null | undefined) ?? null;
    this.ownerScope = this.enabled ? new AsyncOwnerScope() : null;
  }

  /**
   * Runs `fn` as a task of its own (nested in the current one), so its acquires are attributed to it.
   * `pool.use()` does this by itself; wrap request handlers or jobs that call `acquire()` directly.
   * With detection disabled it just calls `fn`.
   */
  run<T>(fn: () => T, name?: string): T {
    if (typeof fn !== 'function') throw new InvalidArgumentError('fn', fn, 'must be a function');
    return this.ownerScope === null ? fn() : this.ownerScope.run(fn, name);
  }

  /**
   * Watches `pool` (created with `ownerScope: detector.ownerScope`): deadlocks are then detected as they
   * form. Idempotent; detaches by itself when the pool closes. Returns a function that detaches.
   */
  attach<C>(target: ConnectionPool<C>): () => void {
    if (!isPool(target)) throw new InvalidArgumentError('pool', target, 'must be a ConnectionPool');
    const pool: AnyPool = target;
    if (!this.enabled || pool.state === 'closed') return () => {};
    const existing = this.#watches.get(pool);
    if (existing !== undefined) return existing.detach;
    const watch = new PoolWatch(pool);
    const onEnqueue = ({ waiter }: { waiter: Waiter }): void => this.#onEnqueue(watch, waiter);
    const onAcquire = ({ connection }: { connection: Handle }): void => this.#onAcquire(watch, connection);
    const onMaintenance = (): void => this.#suspect(watch);
    const detach = (): void => {
      if (this.#watches.get(pool)?.watch !== watch) return;
      this.#watches.delete(pool);
      this.#cancelConfirmation(watch);
      pool.off('enqueue', onEnqueue);
      pool.off('acquire', onAcquire);
      pool.off('maintenance', onMaintenance);
      pool.off('close', detach);
    };
    this.#watches.set(pool, { watch, detach });
    pool.on('enqueue', onEnqueue);
    pool.on('acquire', onAcquire);
    pool.on('maintenance', onMaintenance);
    pool.on('close', detach);
    return detach;
  }

  /**
   * Checks `target` now (the seed's `detector.check_deadlock(&wait_queue)`): a pool, or a
   * `PriorityWaitQueue` given to one. Works without `attach()` (it scans the wait queue: O(waiters)).
   * Reports without failing anyone; see {@link breakDeadlock}. A standalone queue holds no connections
   * and is never deadlocked. This is a snapshot, not confirmed: called in the same turn as a nested
   * acquire that its holder did not await, it reports the deadlock the holder is about to undo.
   */
  checkDeadlock<C>(target: ConnectionPool<C> | PriorityWaitQueue): DeadlockReport {
    let pool: AnyPool;
    if (isPool(target)) pool = target;
    else if (isBoostable(target)) {
      const host = (target as PriorityWaitQueue).host;
      if (host === null) return this.#clear(null, 0, 'a standalone wait queue holds no connections, so it cannot deadlock');
      if (!isPool(host)) return this.#clear(host.name, 0, `the queue serves '${host.name}', not a pool; check the pool itself`);
      pool = host;
    } else {
      throw new InvalidArgumentError('target', target, 'must be a ConnectionPool, or a PriorityWaitQueue given to one');
    }
    if (!this.enabled) return this.#clear(pool.name, pool.config.maxSize, 'deadlock detection is disabled');
    let byTask: Map<TaskScope, Waiter[]> | undefined;
    const waitersOf = (task: TaskScope): readonly Waiter[] => {
      byTask ??= scanQueue(pool);
      return byTask.get(task) ?? [];
    };
    const analysis = this.#analyze(pool, (task) => waitersOf(task).length > 0, waitersOf);
    if (!analysis.deadlocked) return this.#clear(pool.name, pool.config.maxSize, analysis.reason);
    const watch = this.#watches.get(pool)?.watch;
    const report = this.#toReport(analysis, watch);
    this.#record(analysis);
    return report;
  }

  /**
   * Fails the waiters of a deadlock found by {@link checkDeadlock} with `DeadlockError` (what the
   * detector does by itself with `failWaiters: true`). Returns how many were failed.
   */
  breakDeadlock(report: DeadlockReport): number {
    if (typeof report !== 'object' || report === null || !Array.isArray(report.waiters) || !Array.isArray(report.tasks)) {
      throw new InvalidArgumentError('report', report, 'must be a DeadlockReport returned by checkDeadlock()');
    }
    if (!report.deadlocked) return 0;
    return this.#failAll(report, this.#reportWatch.get(report));
  }

  /** A snapshot of the counters. */
  statistics(): DeadlockStatistics {
    return {
      enabled: this.enabled,
      deadlocksDetected: this.#deadlocks,
      waitersFailed: this.#failed,
      nestedAcquires: this.#nested,
      checks: this.#checks,
      poolsAttached: this.#watches.size,
    };
  }

  // ---------------------------------------------------------------- event handlers

  /** Synchronously inside `acquire()`: records the waiter under its task chain, checks when nested. */
  #onEnqueue(watch: PoolWatch, waiter: Waiter): void {
    const owner = waiter.owner;
    if (!(owner instanceof TaskScope)) return;
    for (let t: TaskScope | null = owner; t !== null; t = t.parent) {
      let list = watch.waiting.get(t);
      if (list === undefined) watch.waiting.set(t, (list = []));
      pushCompact(list, waiter, isSettled);
    }
    // Only an acquire by a task that already holds a connection can complete a deadlock.
    let nested = false;
    let stacks = false;
    for (let t: TaskScope | null = owner; t !== null; t = t.parent) {
      const held = watch.held.get(t);
      if (held === undefined || !hasLive(held, isReleased)) continue;
      nested = true;
      if (!stacks) stacks = held.some((h) => h.stack !== undefined);
    }
    if (!nested) return;
    this.#nested++;
    if (stacks) {
      const holder: { stack?: string } = {};
      Error.captureStackTrace(holder, watch.pool.acquire);
      watch.stacks.set(waiter, holder);
    }
    this.#suspect(watch);
  }

  /** A connection was handed to a task; if that task is also waiting, the pool may just have locked up. */
  #onAcquire(watch: PoolWatch, handle: Handle): void {
    const owner = handle.owner;
    if (!(owner instanceof TaskScope)) return;
    let held = watch.held.get(owner);
    if (held === undefined) watch.held.set(owner, (held = []));
    pushCompact(held, handle, isReleased);
    const waiting = watch.waiting.get(owner);
    if (waiting === undefined || watch.scheduled || !hasLive(waiting, isSettled)) return;
    // Checked after the pool finished handing the connection over; acted on only once confirmed, as
    // the task may give a connection back as soon as its (possibly un-awaited) acquire resolves.
    watch.scheduled = true;
    queueMicrotask(() => {
      watch.scheduled = false;
      if (this.#watches.get(watch.pool)?.watch === watch) this.#suspect(watch);
    });
  }

  // ---------------------------------------------------------------- suspicion and confirmation

  /**
   * Analyzes `watch`'s pool; a deadlock found is only suspected: a confirmation is scheduled (at most
   * one per pool, see {@link #confirm}).
   */
  #suspect(watch: PoolWatch): void {
    if (watch.confirmation !== null) return; // the pending confirmation analyzes again anyway
    const analysis = this.#watchAnalysis(watch);
    if (analysis.deadlocked) this.#scheduleConfirmation(watch, analysis);
  }

  #scheduleConfirmation(watch: PoolWatch, analysis: Analysis & { deadlocked: true }): void {
    const suspected = new Set<Handle>();
    for (const g of analysis.groups) for (const h of g.handles) suspected.add(h);
    const confirm = (): void => this.#confirm(watch);
    // Looked up at call time (not captured at load), so fake timers in tests control it too.
    const timer = this.confirmAfterMs === 0 ? setImmediate(confirm) : setTimeout(confirm, this.confirmAfterMs);
    timer.unref();
    watch.confirmation = { timer, suspected };
  }

  #cancelConfirmation(watch: PoolWatch): void {
    const pending = watch.confirmation;
    if (pending === null) return;
    watch.confirmation = null;
    if (this.confirmAfterMs === 0) clearImmediate(pending.timer as NodeJS.Immediate);
    else clearTimeout(pending.timer as NodeJS.Timeout);
  }

  /**
   * The holders had their chance to run. Acts only when the pool is still watched and open, still
   * deadlocked (so the waiters analyzed are still pending), and every connection is still held by a
   * borrow that held one when the deadlock was suspected. When connections changed hands meanwhile
   * and the pool is deadlocked again, that new state gets a confirmation window of its own.
   */
  #confirm(watch: PoolWatch): void {
    const pending = watch.confirmation;
    watch.confirmation = null;
    if (pending === null || this.#watches.get(watch.pool)?.watch !== watch) return;
    const analysis = this.#watchAnalysis(watch);
    if (!analysis.deadlocked) return;
    for (const g of analysis.groups) {
      for (const h of g.handles) {
        if (!pending.suspected.has(h)) {
          this.#scheduleConfirmation(watch, analysis);
          return;
        }
      }
    }
    this.#act(watch, analysis);
  }

  #watchAnalysis(watch: PoolWatch): Analysis {
    return this.#analyze(
      watch.pool,
      (task) => {
        const list = watch.waiting.get(task);
        return list !== undefined && hasLive(list, isSettled);
      },
      (task) => {
        const list = watch.waiting.get(task);
        return list === undefined ? [] : prune(list, isSettled);
      },
    );
  }

  /** Counts, fails (with `failWaiters`) and reports a confirmed deadlock. */
  #act(watch: PoolWatch, analysis: Analysis & { deadlocked: true }): void {
    const fresh = this.#record(analysis);
    if (!fresh && !this.failWaiters) return;
    const report = this.#toReport(analysis, watch);
    if (this.failWaiters) this.#failAll(report, watch);
    if (fresh && this.#onDeadlock !== null) {
      try {
        this.#onDeadlock(report);
      } catch (error) {
        process.emitWarning(`DeadlockDetector onDeadlock callback threw: ${String(error)}`, { code: 'POOL_DEADLOCK_CALLBACK' });
      }
    }
  }

  // ---------------------------------------------------------------- analysis

  /**
   * Whether `pool` is deadlocked. `isWaiting(task)`: does the task, or one running inside it, wait for
   * this pool (cheap); `waitersOf(task)`: those waiters (only asked once every borrower is waiting).
   */
  #analyze(pool: AnyPool, isWaiting: (task: TaskScope) => boolean, waitersOf: (task: TaskScope) => readonly Waiter[]): Analysis {
    if (pool.state !== 'open') return { deadlocked: false, reason: `the pool is ${pool.state}` };
    const size = pool.size();
    const maxSize = pool.config.maxSize;
    if (size.waiting === 0) return { deadlocked: false, reason: 'nobody is waiting for a connection' };
    if (size.idle > 0) return { deadlocked: false, reason: `${plural(size.idle, 'connection')} idle` };
    if (size.pending > 0) return { deadlocked: false, reason: `${plural(size.pending, 'connection')} being opened` };
    if (size.total < maxSize) return { deadlocked: false, reason: `the pool can open ${maxSize - size.total} more` };
    this.#checks++;
    const handles = pool.borrowed();
    if (handles.length < size.total) {
      return {
        deadlocked: false,
        reason: `${size.total - handles.length} of ${size.total} connections are between borrows (validated or reset)`,
      };
    }
    const groups = new Map<TaskScope, Group>();
    for (const h of handles) {
      const owner = h.owner;
      if (!(owner instanceof TaskScope)) {
        return {
          deadlocked: false,
          reason: `connection ${h.id} is held outside any task (not in pool.use() or detector.run()), so it may be released`,
        };
      }
      let g = groups.get(owner);
      if (g === undefined) groups.set(owner, (g = { task: owner, handles: [], waiters: [] }));
      g.handles.push(h);
    }
    for (const g of groups.values()) {
      if (!isWaiting(g.task)) {
        return {
          deadlocked: false,
          reason: `connection ${(g.handles[0] as Handle).id} is held by ${g.task}, which is not waiting for this pool`,
        };
      }
    }
    const all = new Set<Waiter>();
    const roots = new Set<TaskScope>();
    for (const g of groups.values()) {
      const waiting = waitersOf(g.task);
      g.waiters = [...waiting];
      for (const w of waiting) all.add(w);
      roots.add(g.task.root);
    }
    return { deadlocked: true, kind: roots.size === 1 ? 'self' : 'nested', pool, maxSize, groups: [...groups.values()], waiters: [...all] };
  }

  /** Counts a deadlock unless one of its waiters was already reported (the same deadlock seen again). */
  #record(analysis: Analysis & { deadlocked: true }): boolean {
    let fresh = true;
    for (const w of analysis.waiters) {
      if (this.#reported.has(w)) fresh = false;
      else this.#reported.add(w);
    }
    if (fresh) this.#deadlocks++;
    return fresh;
  }

  #toReport(a: Analysis & { deadlocked: true }, watch: PoolWatch | undefined): DeadlockReport {
    const heldMs = new Map<number, number>();
    for (const c of a.pool.connections()) if (c.heldMs !== undefined) heldMs.set(c.id, c.heldMs);
    const tasks: DeadlockTask[] = a.groups.map((g) => ({
      task: g.task,
      connections: g.handles.map((h) => ({ id: h.id, heldMs: heldMs.get(h.id), stack: h.stack })),
      waiterIds: g.waiters.map((w) => w.id),
    }));
    const holders = tasks.map((t) => `${t.task} holds ${t.connections.map((c) => c.id).join(', ')}`).join('; ');
    const description =
      a.kind === 'self'
        ? `Self-deadlock in pool '${a.pool.name}': one task holds ${a.maxSize === 1 ? 'the only connection' : `all ${a.maxSize} connections`} and waits for another (${holders})`
        : `Deadlock in pool '${a.pool.name}': all ${a.maxSize} connections are held by ${tasks.length} tasks that are each waiting for another connection from the same pool (${holders})`;
    const report: DeadlockReport = Object.freeze({
      deadlocked: true,
      kind: a.kind,
      poolName: a.pool.name,
      maxSize: a.maxSize,
      tasks: Object.freeze(tasks),
      waiters: Object.freeze([...a.waiters]),
      description,
      detectedAt: Date.now(),
    });
    if (watch !== undefined) this.#reportWatch.set(report, watch);
    return report;
  }

  #clear(poolName: string | null, maxSize: number, reason: string): DeadlockReport {
    return Object.freeze({
      deadlocked: false,
      kind: null,
      poolName,
      maxSize,
      tasks: Object.freeze([]),
      waiters: Object.freeze([]),
      description: `No deadlock: ${reason}`,
      detectedAt: Date.now(),
    });
  }

  #failAll(report: DeadlockReport, watch: PoolWatch | undefined): number {
    let n = 0;
    for (const w of report.waiters) {
      if (w.settled) continue;
      if (w.fail(this.#errorFor(report, w, watch?.stacks.get(w)?.stack))) n++;
    }
    this.#failed += n;
    return n;
  }

  #errorFor(report: DeadlockReport, w: Waiter, acquireStack: string | undefined): DeadlockError {
    const owner = w.owner instanceof TaskScope ? w.owner : undefined;
    const held: number[] = [];
    const heldStacks: string[] = [];
    for (const t of report.tasks) {
      if (owner === undefined || !owner.isWithin(t.task)) continue;
      for (const c of t.connections) {
        held.push(c.id);
        if (c.stack !== undefined) heldStacks.push(c.stack);
      }
    }
    const who = owner === undefined ? `waiter ${w.id}` : String(owner);
    const holds = held.length === 1 ? `connection ${held[0]}` : `connections ${held.join(', ')}`;
    const maxSize = report.maxSize;
    let message =
      report.kind === 'self'
        ? `Self-deadlock in pool '${report.poolName}': the acquire by ${who} waits for a connection while its own task already holds ${maxSize === 1 ? 'the only one' : `all ${maxSize}`} (${holds}), so it can never be served.`
        : `Deadlock in pool '${report.poolName}': all ${maxSize} connections are held by ${report.tasks.length} tasks that are each waiting for another connection from the same pool. The acquire by ${who} is nested inside work that holds ${holds}.`;
    message +=
      ' It was failed as soon as the deadlock was confirmed instead of waiting for its timeout. Release the held connection before acquiring another, pass it down to the nested code, or keep the number of tasks nesting acquires at the same time below maxSize.';
    if (acquireStack !== undefined) message += `\n    nested acquire at:\n${frames(acquireStack)}`;
    for (const t of report.tasks) {
      if (owner === undefined || !owner.isWithin(t.task)) continue;
      for (const c of t.connections) if (c.stack !== undefined) message += `\n    connection ${c.id} acquired at:\n${frames(c.stack)}`;
    }
    return new DeadlockError({
      kind: report.kind ?? 'nested',
      poolName: report.poolName ?? '',
      maxSize,
      waiterId: w.id,
      taskId: owner?.id,
      heldConnectionIds: held,
      tasksInvolved: report.tasks.length,
      acquireStack,
      heldStacks,
      message,
    });
  }
}

/** Waiters of `pool`'s queue by task, each listed under its task and every task it runs inside. */
function scanQueue(pool: AnyPool): Map<TaskScope, Waiter[]> {
  const out = new Map<TaskScope, Waiter[]>();
  for (const w of pool.waitQueue.values()) {
    if (w.settled || !(w.owner instanceof TaskScope)) continue;
    for (let t: TaskScope | null = w.owner; t !== null; t = t.parent) {
      let list = out.get(t);
      if (list === undefined) out.set(t, (list = []));
      list.push(w);
    }
  }
  return out;
}
