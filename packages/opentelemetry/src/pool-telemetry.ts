import { type Attributes, context, type Histogram, type Meter, metrics, trace } from '@opentelemetry/api';
import { type AcquireTrace, type ConnectionPool, InvalidArgumentError, InvalidConfigError } from '@pool/core';
import { BorrowRecorder } from './borrow-recorder.js';
import { durationHistograms } from './duration-histograms.js';
import { ATTR_PARTITION, ATTR_POOL_NAME } from './names.js';
import { type ObservedPool, observedPool, observeMetrics } from './observed-metrics.js';
import {
  checkInstrumentOptions,
  type InstrumentOptions,
  type PoolTelemetryOptions,
  type ResolvedOptions,
  resolveOptions,
} from './options.js';
import { traceManagerAcquires } from './partition-spans.js';
import {
  type AcquireObserver,
  type AcquireStart,
  subscribeAcquires,
  subscribeCreates,
  subscribeReleases,
  subscribeWaits,
} from './pool-channels.js';
import type { BudgetSource, PartitionAcquireEvent, PartitionSource } from './sources.js';
import { epochNow, WaitSpans } from './wait-spans.js';

/** Replaced by the package's version at build time (tsup and vitest `define`); absent when its TypeScript source is run directly. */
declare const __POOL_OPENTELEMETRY_VERSION__: string | undefined;
const VERSION = typeof __POOL_OPENTELEMETRY_VERSION__ === 'string' ? __POOL_OPENTELEMETRY_VERSION__ : 'source';

/** The instrumentation scope name of the meter and tracer. */
export const INSTRUMENTATION_SCOPE = '@pool/opentelemetry';

/** One instrumented pool. */
interface PoolState extends ObservedPool {
  /** The manager whose callers' waits are recorded from its own events (with the partition). */
  partitions: PartitionSource | null;
  /** Attribute sets per partition, built once. */
  partitionAttrs: Map<string, Attributes>;
  undo: (() => void)[];
}

/**
 * OpenTelemetry for `@pool/core` pools: the semantic conventions' connection-pool metrics
 * (`db.client.connection.*`), per-partition and cluster-budget metrics, and `pool.acquire` spans for
 * acquires that waited, under the caller's span.
 *
 * Counts, limits, pending requests and timeouts are read from `pool.size()`, `pool.config` and
 * `pool.statistics()` when the SDK collects: nothing on the acquire path. The duration histograms
 * (create, wait, use time) and the spans come from `@pool/core`'s `node:diagnostics_channel` channels,
 * subscribed only while something is instrumented. Depends on `@opentelemetry/api` alone: the SDK,
 * exporters and context manager are your application's.
 *
 * @example
 * ```ts
 * import { PoolTelemetry } from '@pool/opentelemetry';
 * const telemetry = new PoolTelemetry(); // the global MeterProvider and TracerProvider
 * telemetry.instrument(pool);
 * // ...
 * telemetry.close();
 * ```
 */
export class PoolTelemetry {
  readonly #meter: Meter | null;
  readonly #create: Histogram | null;
  readonly #borrows: BorrowRecorder | null;
  readonly #spans: WaitSpans | null;
  /** By name: core's channels name the pool. */
  readonly #pools = new Map<string, PoolState>();
  readonly #budgets = new Map<BudgetSource, number>();
  readonly #partitionSources = new Set<PartitionSource>();
  #unobserve: (() => void) | null = null;
  #unsubscribe: (() => void)[] = [];
  /** Whether the acquire channel is subscribed while pools are instrumented, or only in sampling periods. */
  readonly #acquiresAlways: boolean;
  /**
   * Whether wait spans come from the `pool:wait` channel (a threshold above 0: only acquires that
   * waited can reach it) rather than from `pool:acquire` (every acquire, for a threshold of 0).
   */
  readonly #spansFromWaits: boolean;
  #unsubscribeAcquires: (() => void) | null = null;
  #unsubscribeWaits: (() => void) | null = null;
  #closed = false;

  /**
   * @param options providers, spans threshold, sampling, histogram buckets; see {@link PoolTelemetryOptions}.
   * @throws InvalidConfigError for a bad option.
   */
  constructor(options: PoolTelemetryOptions = {}) {
    const o: ResolvedOptions = resolveOptions(options);
    this.#meter = o.metrics ? (o.meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_SCOPE, VERSION) : null;
    const histograms = this.#meter === null ? null : durationHistograms(this.#meter, o.buckets);
    this.#create = histograms?.create ?? null;
    // Spans for waits of at least 1 ms need only the acquires that waited (`pool:wait`, free for the
    // others); acquisitions then matter to the acquire channel (which has core trace every acquire in
    // the process) only for the sampled wait times, so it is subscribed during sampling periods only.
    this.#spansFromWaits = o.waitSpanThresholdMs !== null && o.waitSpanThresholdMs > 0;
    const sampledOnly = (o.waitSpanThresholdMs === null || this.#spansFromWaits) && o.borrowTiming !== 'all';
    this.#borrows =
      histograms === null
        ? null
        : new BorrowRecorder(histograms.wait, histograms.use, o.borrowTiming, subscribeReleases, (on) => {
            if (!sampledOnly) return;
            if (on) this.#unsubscribeAcquires ??= subscribeAcquires(this.#acquireObserver());
            else this.#stopAcquires();
          });
    this.#acquiresAlways = !sampledOnly;
    this.#spans =
      o.waitSpanThresholdMs === null
        ? null
        : new WaitSpans(
            (o.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_SCOPE, VERSION),
            o.waitSpanThresholdMs,
            o.requireParentSpan,
          );
  }

  /**
   * Publishes `pool` (and, with the options, its partitions and cluster budget) until the returned
   * function is called or the telemetry is closed. A pool is instrumented once per telemetry.
   *
   * @throws InvalidArgumentError when `pool` is not a ConnectionPool or is already instrumented here;
   *   InvalidConfigError for a bad option.
   */
  instrument<C>(target: ConnectionPool<C>, options: InstrumentOptions = {}): () => void {
    const pool = target as ConnectionPool<unknown>;
    if (this.#closed) throw new InvalidArgumentError('telemetry', this, 'is closed: create a new PoolTelemetry');
    if (typeof pool !== 'object' || pool === null || typeof (pool as ConnectionPool<unknown>).size !== 'function') {
      throw new InvalidArgumentError('pool', pool, 'must be a ConnectionPool from @pool/core');
    }
    const known = this.#pools.get(pool.name);
    if (known !== undefined) {
      throw new InvalidArgumentError(
        'pool',
        pool.name,
        known.pool === pool
          ? 'is already instrumented by this PoolTelemetry'
          : 'names another pool this PoolTelemetry instruments: give pools distinct names (the `name` pool option)',
      );
    }
    checkInstrumentOptions(options);
    const partitions = options.partitions ?? null;
    if (partitions !== null && (partitions.pool as unknown) !== pool) {
      throw new InvalidConfigError(
        'partitions',
        partitions.pool?.name,
        `is the PartitionManager of another pool: give the manager of '${pool.name}'`,
      );
    }
    if (partitions !== null && this.#partitionSources.has(partitions)) {
      throw new InvalidArgumentError('partitions', partitions, 'is already instrumented by this PoolTelemetry');
    }
    const state: PoolState = { ...observedPool(pool), partitions, partitionAttrs: new Map(), undo: [] };
    if (partitions !== null) {
      this.#partitionSources.add(partitions);
      state.undo.push(() => this.#partitionSources.delete(partitions));
      const borrows = this.#borrows;
      if (borrows !== null) {
        const onAcquire = (e: PartitionAcquireEvent) => borrows.waited(e.waitMs, this.#partitionAttributes(state, e.partition));
        partitions.on('acquire', onAcquire);
        state.undo.push(() => partitions.off('acquire', onAcquire));
      }
      if (this.#spans !== null) state.undo.push(traceManagerAcquires(partitions, this.#spans));
    }
    const budget = options.budget;
    if (budget !== undefined) {
      this.#budgets.set(budget, (this.#budgets.get(budget) ?? 0) + 1);
      state.undo.push(() => {
        const n = (this.#budgets.get(budget) ?? 1) - 1;
        if (n === 0) this.#budgets.delete(budget);
        else this.#budgets.set(budget, n);
      });
    }
    this.#pools.set(pool.name, state);
    if (this.#borrows !== null) {
      this.#borrows.add(pool.name, state.attrs);
      state.undo.push(() => this.#borrows?.remove(pool.name));
    }
    this.#start();
    let detached = false;
    return () => {
      if (detached) return;
      detached = true;
      this.#detach(pool.name);
    };
  }

  /** Stops publishing every pool, removes the instruments' callbacks and the channel subscriptions. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const name of [...this.#pools.keys()]) this.#detach(name);
  }

  /** `using telemetry = new PoolTelemetry()` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }

  #detach(name: string): void {
    const state = this.#pools.get(name);
    if (state === undefined) return;
    this.#pools.delete(name);
    for (const undo of state.undo.reverse()) undo();
    if (this.#pools.size === 0) this.#stop();
  }

  /** Observes and subscribes while at least one pool is instrumented. */
  #start(): void {
    if (this.#meter !== null && this.#unobserve === null) {
      this.#unobserve = observeMetrics(this.#meter, {
        pools: () => this.#pools.values(),
        partitions: () => this.#partitionSources,
        budgets: () => this.#budgets.keys(),
      });
    }
    if ((this.#spans !== null || this.#borrows !== null) && this.#acquiresAlways) {
      this.#unsubscribeAcquires ??= subscribeAcquires(this.#acquireObserver());
    }
    if (this.#spansFromWaits) this.#unsubscribeWaits ??= subscribeWaits(this.#waitObserver());
    if (this.#unsubscribe.length > 0) return;
    const create = this.#create;
    if (create !== null) {
      this.#unsubscribe.push(
        subscribeCreates((m) => {
          const state = this.#pools.get(m.pool);
          // A failed attempt is no creation: the conventions' create_time is the time a new connection took.
          if (state !== undefined && m.outcome === 'created') create.record(m.durationMs / 1000, state.attrs);
        }),
      );
    }
  }

  #stop(): void {
    this.#unobserve?.();
    this.#unobserve = null;
    this.#stopAcquires();
    this.#unsubscribeWaits?.();
    this.#unsubscribeWaits = null;
    for (const u of this.#unsubscribe.splice(0)) u();
  }

  #stopAcquires(): void {
    this.#unsubscribeAcquires?.();
    this.#unsubscribeAcquires = null;
  }

  #partitionAttributes(state: PoolState, partition: string): Attributes {
    let attrs = state.partitionAttrs.get(partition);
    if (attrs === undefined) {
      attrs = Object.freeze({ [ATTR_POOL_NAME]: state.pool.name, [ATTR_PARTITION]: partition });
      state.partitionAttrs.set(partition, attrs);
    }
    return attrs;
  }

  /** What the acquire channel reports to: wait times, and wait spans unless they come from the wait channel. */
  #acquireObserver(): AcquireObserver {
    return this.#traceObserver(this.#borrows, this.#spansFromWaits ? null : this.#spans);
  }

  /** What the wait channel reports to: wait spans (wait times come from the acquire channel's sample). */
  #waitObserver(): AcquireObserver {
    return this.#traceObserver(null, this.#spans);
  }

  /** Records wait times (`borrows`) and wait spans (`spans`) of instrumented pools' acquires. */
  #traceObserver(borrows: BorrowRecorder | null, spans: WaitSpans | null): AcquireObserver {
    const pools = this.#pools;
    const span = (t: AcquireTrace, start: AcquireStart, error: unknown) => {
      const waitMs = t.waitMs ?? 0;
      if (spans === null || !spans.wants(waitMs)) return;
      const endedAt = epochNow();
      spans.record({
        pool: t.pool,
        parent: start,
        startedAt: endedAt - waitMs,
        endedAt,
        priority: t.priority,
        partition: undefined,
        error,
      });
    };
    return {
      // Only the caller's context is kept (one AsyncLocalStorage read): the wait is measured by core.
      started: (t) => (spans !== null && pools.has(t.pool) ? context.active() : undefined),
      acquired: (t, start) => {
        const state = pools.get(t.pool);
        if (state === undefined) return;
        const connectionId = t.connectionId ?? -1;
        const waitMs = t.waitMs ?? 0;
        const partition = partitionOf(t.context);
        if (partition === undefined) {
          borrows?.acquired(t.pool, connectionId, waitMs, state.attrs);
          if (start !== undefined) span(t, start, undefined);
          return;
        }
        // An acquire made by a partition manager. With the manager instrumented, its callers' whole
        // waits are recorded from it; their spans always come from the manager, whose acquire() runs in
        // the caller's context (this one may run in another caller's).
        borrows?.acquired(t.pool, connectionId, waitMs, state.partitions === null ? this.#partitionAttributes(state, partition) : null);
      },
      failed: (t, start) => {
        if (start !== undefined && pools.has(t.pool) && partitionOf(t.context) === undefined) span(t, start, t.error);
      },
    };
  }
}

/** The partition of an acquire made by a `@pool/partitioning` manager (its `context` is a `PartitionContext`). */
function partitionOf(callerContext: unknown): string | undefined {
  if (typeof callerContext !== 'object' || callerContext === null) return undefined;
  const p = (callerContext as { partition?: unknown }).partition;
  return typeof p === 'string' && 'request' in callerContext ? p : undefined;
}
