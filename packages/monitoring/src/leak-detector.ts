import {
  type ConnectionInfo,
  InvalidArgumentError,
  InvalidConfigError,
  MAX_TIMER_MS,
  now,
  type PoolEventMap,
  type PooledConnection,
} from '@pool/core';
import { checkOptionKeys } from '@pool/core/adapter';
import type { MonitoredPool } from './pool-recorder.js';

/** A borrow held longer than the leak threshold (the seed's leak entry). */
export interface LeakReport {
  /** The name of the pool the connection belongs to. */
  poolName: string;
  /** The connection's id (stable for its life, unique within its pool). */
  connectionId: number;
  /** How long the connection has been borrowed, in ms, as of the report (`getLeaks()` computes it afresh). */
  activeDurationMs: number;
  /** Epoch ms when the borrow started. */
  acquiredAt: number;
  /** Epoch ms when the detector flagged it. */
  detectedAt: number;
  /** The borrow's `acquire({ context })`: a partition request, a route, whatever the caller passed. */
  context: unknown;
  /** The partition, when the context names one (`context.partition` or `context.partitionId`, a string). */
  partition: string | undefined;
  /** The connection's label, if any. */
  label: string | undefined;
  /** Where `acquire()` was called, when the pool captures stacks (`captureStacks: true`). */
  stack: string | undefined;
  /**
   * True when the pool does not measure borrow times (nothing that needs them is switched on: no
   * monitor, no `leakDetectionThresholdMs`, no `captureStacks`): `acquiredAt` and `activeDurationMs`
   * are then counted from the first check that saw the borrow, so they are up to `checkIntervalMs`
   * short, and the leak is reported up to one interval late.
   */
  approximate: boolean;
}

/** How a flagged borrow ended. */
export type LeakEnd = 'released' | 'destroyed' | 'reclaimed' | 'closed';

/** A flagged borrow that ended: the leak was a slow borrow after all, or it was reclaimed. */
export interface LeakRelease extends LeakReport {
  /** Epoch ms when it ended. */
  releasedAt: number;
  /** The whole borrow's duration, in ms. */
  heldMs: number;
  /** `'released'` or `'destroyed'` by the borrower, `'reclaimed'` by the detector (or `pool.reclaim`), `'closed'` by `pool.close()`. */
  endedBy: LeakEnd;
}

/** The events a {@link LeakDetector} emits. */
export interface LeakDetectorEventMap {
  /** A borrow crossed the threshold. Emitted once per borrow. */
  leak: LeakReport;
  /** A borrow flagged earlier ended. */
  release: LeakRelease;
  /** A borrow held past `reclaimAfterMs` was taken back with `pool.reclaim(id)`. */
  reclaim: LeakReport;
}

/** Counters of a {@link LeakDetector}. */
export interface LeakDetectorStatistics {
  /** Borrows flagged as leaks so far. */
  detected: number;
  /** Flagged borrows that ended afterwards (reclaimed ones included). */
  released: number;
  /** Flagged borrows the detector reclaimed. */
  reclaimed: number;
  /** Flagged borrows still held. */
  active: number;
  /** Checks run. */
  checks: number;
}

/** Options of a {@link LeakDetector}. */
export interface LeakDetectorOptions {
  /** A borrow held this long (ms) is a leak. Required. */
  thresholdMs: number;
  /** How often borrows are checked (ms); a leak is reported at most this late. Default `min(thresholdMs, 60000)`. */
  checkIntervalMs?: number;
  /**
   * Take a borrow back with `pool.reclaim(id)` once it has been held this long (Oracle UCP's abandoned
   * connection timeout): the borrower's handle stops working and the connection is closed, so a leak
   * cannot starve the pool forever. Must be greater than `thresholdMs`. Default `null` (never).
   */
  reclaimAfterMs?: number | null;
  /** Pools to watch now (more with {@link LeakDetector.watch}). */
  pools?: MonitoredPool | readonly MonitoredPool[];
  /**
   * When nothing listens to `'leak'`, report each leak as a process warning (code
   * `POOL_CONNECTION_LEAK`, with the acquire stack when captured). Default `true`.
   */
  warn?: boolean;
}

type Listener<K extends keyof LeakDetectorEventMap> = (payload: LeakDetectorEventMap[K]) => void;

const OPTION_KEYS = ['thresholdMs', 'checkIntervalMs', 'reclaimAfterMs', 'pools', 'warn'];

interface Flagged {
  report: LeakReport;
  handle: PooledConnection<unknown>;
  /** Monotonic start of the borrow (or of its first sighting, when the pool does not time borrows). */
  startedAt: number;
}

/** Per-pool state: the flagged borrows, and the listeners that only exist while there are some. */
class Watch {
  readonly flagged = new Map<PooledConnection<unknown>, Flagged>();
  /** When a check first saw each borrow, for pools that do not measure borrow times. */
  readonly firstSeen = new WeakMap<PooledConnection<unknown>, number>();
  detected = 0;
  released = 0;
  reclaimed = 0;
  #listening = false;
  /** Withdraws the exact borrow timing this watch asked the pool for (pools that offer it). */
  readonly #withdrawTiming: (() => void) | undefined;

  constructor(
    readonly pool: MonitoredPool,
    readonly onRelease: (e: PoolEventMap<unknown>['release']) => void,
  ) {
    this.#withdrawTiming = typeof pool.requestBorrowTiming === 'function' ? pool.requestBorrowTiming() : undefined;
  }

  /** Listens to borrow ends only while something is flagged: leak detection costs nothing per event otherwise. */
  sync(): void {
    const want = this.flagged.size > 0;
    if (want === this.#listening) return;
    this.#listening = want;
    if (want) this.pool.on('release', this.onRelease);
    else this.pool.off('release', this.onRelease);
  }

  stop(): void {
    this.flagged.clear();
    this.sync();
    this.#withdrawTiming?.();
  }
}

/** The partition a borrow's context names (`context.partition` or `context.partitionId`, a string). */
export function partitionOf(context: unknown): string | undefined {
  if (typeof context !== 'object' || context === null) return undefined;
  const c = context as Record<string, unknown>;
  if (typeof c.partition === 'string') return c.partition;
  if (typeof c.partitionId === 'string') return c.partitionId;
  return undefined;
}

function checkDuration(field: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > MAX_TIMER_MS) {
    throw new InvalidConfigError(field, value, `must be a number of milliseconds between ${min} and ${MAX_TIMER_MS}`);
  }
  return value;
}

/**
 * Finds connections borrowed for too long (the seed's `LeakDetector`): every `checkIntervalMs` it
 * looks at the watched pools' borrows (`pool.borrowed()`), flags those held `thresholdMs` or more, and
 * reports each once (`'leak'` event, `getLeaks()`), then reports when a flagged borrow ends
 * (`'release'`). With `reclaimAfterMs` it also takes back borrows abandoned that long.
 *
 * It costs nothing per acquire or release: it works from a timer (unref'd, so it never keeps the
 * process alive) and listens to releases only while a flagged borrow exists. Turn on the pool's
 * `captureStacks` option to get the acquire stack in reports (see the README for its cost).
 *
 * @example
 * ```ts
 * const detector = new LeakDetector(300_000, 60_000).watch(pool); // 5 min threshold, checked every minute
 * for (const leak of detector.getLeaks()) {
 *   console.error(`LEAK: connection ${leak.connectionId} active for ${leak.activeDurationMs} ms`);
 * }
 * ```
 */
export class LeakDetector {
  /** A borrow held this long is a leak (ms). */
  readonly thresholdMs: number;
  /** How often borrows are checked (ms). */
  readonly checkIntervalMs: number;
  /** When a leak is reclaimed (ms), or `null`. */
  readonly reclaimAfterMs: number | null;
  readonly #warn: boolean;
  readonly #watches = new Map<MonitoredPool, Watch>();
  readonly #listeners: { [K in keyof LeakDetectorEventMap]?: Listener<K>[] } = {};
  #timer: ReturnType<typeof setInterval> | undefined;
  #detected = 0;
  #released = 0;
  #reclaimed = 0;
  #checks = 0;
  #closed = false;
  /** While reclaiming: 'release' reports held back until 'reclaim' is emitted. */
  #outbox: LeakRelease[] | null = null;

  /**
   * @param thresholdMs a borrow held this long is a leak; or an options object.
   * @param checkIntervalMs how often to check (default `min(thresholdMs, 60000)`).
   * @throws InvalidConfigError for a bad value, naming it.
   */
  constructor(thresholdMs: number, checkIntervalMs?: number);
  constructor(options: LeakDetectorOptions);
  constructor(thresholdOrOptions: number | LeakDetectorOptions, checkIntervalMs?: number) {
    const options: LeakDetectorOptions =
      typeof thresholdOrOptions === 'object' && thresholdOrOptions !== null
        ? thresholdOrOptions
        : checkIntervalMs === undefined
          ? { thresholdMs: thresholdOrOptions }
          : { thresholdMs: thresholdOrOptions, checkIntervalMs };
    checkOptionKeys(options, OPTION_KEYS, 'LeakDetector');
    this.thresholdMs = checkDuration('thresholdMs', options.thresholdMs, 1);
    this.checkIntervalMs = checkDuration('checkIntervalMs', options.checkIntervalMs ?? Math.min(this.thresholdMs, 60_000), 10);
    const reclaim = options.reclaimAfterMs ?? null;
    if (reclaim !== null) {
      checkDuration('reclaimAfterMs', reclaim, 1);
      if (reclaim <= this.thresholdMs) {
        throw new InvalidConfigError(
          'reclaimAfterMs',
          reclaim,
          `must be greater than thresholdMs (${this.thresholdMs}): a borrow is reported as a leak before it is reclaimed`,
        );
      }
    }
    this.reclaimAfterMs = reclaim;
    if (options.warn !== undefined && typeof options.warn !== 'boolean')
      throw new InvalidConfigError('warn', options.warn, 'must be true or false');
    this.#warn = options.warn ?? true;
    if (options.pools !== undefined) {
      const list = Array.isArray(options.pools) ? options.pools : [options.pools];
      for (const pool of list as MonitoredPool[]) this.watch(pool);
    }
  }

  /** Starts watching `pool`. Returns the detector. Watching a pool twice is a no-op. */
  watch(pool: MonitoredPool): this {
    if (this.#closed) throw new InvalidArgumentError('detector', 'closed', 'cannot watch a pool with a closed LeakDetector');
    if (typeof pool !== 'object' || pool === null || typeof pool.borrowed !== 'function' || typeof pool.on !== 'function') {
      throw new InvalidArgumentError('pool', pool, 'must be a ConnectionPool from @pool/core');
    }
    if (this.#watches.has(pool)) return this;
    const watch: Watch = new Watch(pool, (e) => this.#ended(watch, e.connection, e.holdMs, e.ended));
    this.#watches.set(pool, watch);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.check(), this.checkIntervalMs);
      this.#timer.unref?.();
    }
    return this;
  }

  /** Stops watching `pool` and forgets its flagged borrows. Returns false when it was not watched. */
  unwatch(pool: MonitoredPool): boolean {
    const watch = this.#watches.get(pool);
    if (watch === undefined) return false;
    watch.stop();
    this.#watches.delete(pool);
    if (this.#watches.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    return true;
  }

  /**
   * Runs a check now (it also runs every `checkIntervalMs`): flags new leaks, reclaims abandoned
   * borrows when `reclaimAfterMs` is set. Returns the leaks found by this check. O(borrowed connections).
   */
  check(): LeakReport[] {
    this.#checks++;
    const found: LeakReport[] = [];
    const t = now();
    const epoch = Date.now();
    for (const watch of this.#watches.values()) {
      const pool = watch.pool;
      // A flagged borrow that ended without an event reaching us is never reported as a leak again.
      for (const f of [...watch.flagged.values()]) {
        if (f.handle.released) this.#finish(watch, f, 'released', t - f.startedAt);
      }
      const handles = new Map<number, PooledConnection<unknown>>();
      for (const h of pool.borrowed()) handles.set(h.id, h);
      if (handles.size === 0) continue;
      const reclaim: Flagged[] = [];
      const start = found.length;
      for (const info of pool.connections()) {
        const handle = handles.get(info.id);
        if (handle === undefined) continue;
        let startedAt: number;
        if (info.heldMs !== undefined) startedAt = t - info.heldMs;
        else {
          const seen = watch.firstSeen.get(handle);
          if (seen === undefined) watch.firstSeen.set(handle, t);
          startedAt = seen ?? t;
        }
        const heldMs = t - startedAt;
        if (heldMs < this.thresholdMs) continue;
        let f = watch.flagged.get(handle);
        if (f === undefined) {
          f = { handle, startedAt, report: this.#report(pool, handle, info, heldMs, epoch) };
          watch.flagged.set(handle, f);
          this.#detected++;
          watch.detected++;
          found.push(f.report);
        }
        if (this.reclaimAfterMs !== null && heldMs >= this.reclaimAfterMs) reclaim.push(f);
      }
      watch.sync();
      for (let i = start; i < found.length; i++) this.#emitLeak(found[i] as LeakReport);
      for (const f of reclaim) this.#reclaim(watch, f);
    }
    return found;
  }

  #reclaim(watch: Watch, f: Flagged): void {
    if (f.handle.released) return;
    const snapshot = { ...f.report, activeDurationMs: now() - f.startedAt };
    // The pool reports the reclaimed borrow's end synchronously; hold that 'release' report back so
    // listeners hear 'reclaim' first.
    this.#outbox = [];
    let ok = false;
    try {
      ok = watch.pool.reclaim(f.report.connectionId);
    } finally {
      const held = this.#outbox;
      this.#outbox = null;
      if (ok) {
        this.#reclaimed++;
        watch.reclaimed++;
        this.#emit('reclaim', snapshot);
      }
      for (const r of held) this.#emit('release', r);
    }
  }

  /** The borrows flagged as leaks and still held, oldest first, with `activeDurationMs` as of now. */
  getLeaks(): LeakReport[] {
    const out: LeakReport[] = [];
    const t = now();
    for (const watch of this.#watches.values()) {
      for (const f of watch.flagged.values()) {
        if (f.handle.released) continue;
        out.push({ ...f.report, activeDurationMs: t - f.startedAt });
      }
    }
    out.sort((a, b) => a.acquiredAt - b.acquiredAt || a.connectionId - b.connectionId);
    return out;
  }

  /**
   * Counters since the detector was created: of every pool, or of the watched pools named `poolName`
   * (counted since that pool was watched).
   */
  statistics(poolName?: string): LeakDetectorStatistics {
    if (poolName === undefined) {
      let active = 0;
      for (const watch of this.#watches.values()) active += watch.flagged.size;
      return { detected: this.#detected, released: this.#released, reclaimed: this.#reclaimed, active, checks: this.#checks };
    }
    const out: LeakDetectorStatistics = { detected: 0, released: 0, reclaimed: 0, active: 0, checks: this.#checks };
    for (const watch of this.#watches.values()) {
      if (watch.pool.name !== poolName) continue;
      out.detected += watch.detected;
      out.released += watch.released;
      out.reclaimed += watch.reclaimed;
      out.active += watch.flagged.size;
    }
    return out;
  }

  /** Subscribes to `'leak'`, `'release'` or `'reclaim'`. A throwing listener is reported as a process warning. */
  on<K extends keyof LeakDetectorEventMap>(event: K, listener: Listener<K>): this {
    if (event !== 'leak' && event !== 'release' && event !== 'reclaim')
      throw new InvalidArgumentError('event', event, "must be 'leak', 'release' or 'reclaim'");
    if (typeof listener !== 'function') throw new InvalidArgumentError('listener', listener, 'must be a function');
    const list = (this.#listeners[event] ?? []) as Listener<K>[];
    (this.#listeners as Record<K, Listener<K>[]>)[event] = [...list, listener];
    return this;
  }

  /** Unsubscribes a listener. */
  off<K extends keyof LeakDetectorEventMap>(event: K, listener: Listener<K>): this {
    const list = this.#listeners[event] as Listener<K>[] | undefined;
    if (list !== undefined) (this.#listeners as Record<K, Listener<K>[]>)[event] = list.filter((l) => l !== listener);
    return this;
  }

  /** Stops watching every pool and stops the timer. Idempotent. */
  close(): void {
    for (const pool of [...this.#watches.keys()]) this.unwatch(pool);
    this.#closed = true;
  }

  /** `using detector = new LeakDetector(...)` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }

  // ------------------------------------------------------------ internals

  #report(pool: MonitoredPool, handle: PooledConnection<unknown>, info: ConnectionInfo, heldMs: number, epoch: number): LeakReport {
    const context = handle.context;
    return {
      poolName: pool.name,
      connectionId: handle.id,
      activeDurationMs: heldMs,
      acquiredAt: info.acquiredAt ?? epoch - heldMs,
      detectedAt: epoch,
      context,
      partition: partitionOf(context),
      label: info.label,
      stack: info.stack,
      approximate: info.heldMs === undefined,
    };
  }

  /** A flagged borrow ended: released or destroyed by its borrower, or reclaimed or closed by the pool. */
  #ended(watch: Watch, handle: PooledConnection<unknown>, reportedMs: number, endedBy: LeakEnd): void {
    const f = watch.flagged.get(handle);
    if (f === undefined) return;
    watch.flagged.delete(handle);
    // NaN when the borrow began before the pool measured times: count from its first sighting.
    this.#settle(watch, f, endedBy, reportedMs >= 0 ? reportedMs : now() - f.startedAt);
  }

  #finish(watch: Watch, f: Flagged, endedBy: LeakEnd, heldMs: number): void {
    if (!watch.flagged.delete(f.handle)) return;
    this.#settle(watch, f, endedBy, heldMs);
  }

  #settle(watch: Watch, f: Flagged, endedBy: LeakEnd, heldMs: number): void {
    this.#released++;
    watch.released++;
    watch.sync();
    const release: LeakRelease = { ...f.report, activeDurationMs: heldMs, releasedAt: Date.now(), heldMs, endedBy };
    if (this.#outbox !== null) this.#outbox.push(release);
    else this.#emit('release', release);
  }

  #emitLeak(report: LeakReport): void {
    if ((this.#listeners.leak?.length ?? 0) === 0) {
      if (this.#warn) {
        const where =
          report.stack === undefined ? ' (set the pool option captureStacks: true to see where it was acquired)' : `\n${report.stack}`;
        process.emitWarning(
          `Connection ${report.connectionId} of pool '${report.poolName}' has been borrowed for ${Math.round(report.activeDurationMs)} ms, past the leak threshold of ${this.thresholdMs} ms${where}`,
          { code: 'POOL_CONNECTION_LEAK' },
        );
      }
      return;
    }
    this.#emit('leak', report);
  }

  #emit<K extends keyof LeakDetectorEventMap>(event: K, payload: LeakDetectorEventMap[K]): void {
    const list = this.#listeners[event] as Listener<K>[] | undefined;
    if (list === undefined) return;
    for (const listener of list) {
      try {
        listener(payload);
      } catch (error) {
        process.emitWarning(`A LeakDetector '${event}' listener threw: ${error instanceof Error ? error.message : String(error)}`, {
          code: 'POOL_LISTENER_ERROR',
        });
      }
    }
  }
}
