import { type Attributes, type Context, context, type Meter, metrics, trace } from '@opentelemetry/api';
import { type ConnectionPool, InvalidArgumentError } from '@pool/core';
import { type DurationHistograms, durationHistograms } from './duration-histograms.js';
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
import { type AcquireObserver, subscribePoolChannels } from './pool-channels.js';
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
  readonly #options: ResolvedOptions;
  readonly #meter: Meter | null;
  readonly #histograms: DurationHistograms | null;
  readonly #spans: WaitSpans | null;
  readonly #pools = new Map<ConnectionPool<unknown>, PoolState>();
  readonly #budgets = new Map<BudgetSource, number>();
  readonly #partitionSources = new Set<PartitionSource>();
  #unobserve: (() => void) | null = null;
  #unsubscribe: (() => void) | null = null;
  #closed = false;

  /**
   * @param options providers, spans threshold, histogram buckets; see {@link PoolTelemetryOptions}.
   * @throws InvalidConfigError for a bad option.
   */
  constructor(options: PoolTelemetryOptions = {}) {
    this.#options = resolveOptions(options);
    const o = this.#options;
    this.#meter = o.metrics ? (o.meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_SCOPE, VERSION) : null;
    this.#histograms = this.#meter === null ? null : durationHistograms(this.#meter, o.buckets);
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
    if (this.#pools.has(pool)) throw new InvalidArgumentError('pool', pool.name, 'is already instrumented by this PoolTelemetry');
    checkInstrumentOptions(options);
    const partitions = options.partitions ?? null;
    const state: PoolState = { ...observedPool(pool), partitions, partitionAttrs: new Map(), undo: [] };
    if (partitions !== null) {
      if (this.#partitionSources.has(partitions))
        throw new InvalidArgumentError('partitions', partitions, 'is already instrumented by this PoolTelemetry');
      this.#partitionSources.add(partitions);
      state.undo.push(() => this.#partitionSources.delete(partitions));
      if (this.#histograms !== null) {
        const onAcquire = (e: PartitionAcquireEvent) =>
          this.#histograms?.wait.record(e.waitMs / 1000, this.#partitionAttributes(state, e.partition));
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
    this.#pools.set(pool, state);
    this.#start();
    let detached = false;
    return () => {
      if (detached) return;
      detached = true;
      this.#detach(pool);
    };
  }

  /** Stops publishing every pool, removes the instruments' callbacks and the channel subscriptions. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const pool of [...this.#pools.keys()]) this.#detach(pool);
  }

  /** `using telemetry = new PoolTelemetry()` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }

  #detach(pool: ConnectionPool<unknown>): void {
    const state = this.#pools.get(pool);
    if (state === undefined) return;
    this.#pools.delete(pool);
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
    if (this.#unsubscribe === null && (this.#histograms !== null || this.#spans !== null)) {
      this.#unsubscribe = subscribePoolChannels(this.#observer());
    }
  }

  #stop(): void {
    this.#unobserve?.();
    this.#unobserve = null;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  #partitionAttributes(state: PoolState, partition: string): Attributes {
    let attrs = state.partitionAttrs.get(partition);
    if (attrs === undefined) {
      attrs = Object.freeze({ [ATTR_POOL_NAME]: state.pool.name, [ATTR_PARTITION]: partition });
      state.partitionAttrs.set(partition, attrs);
    }
    return attrs;
  }

  /** What the channel subscriptions call: finds the pool's state and records. */
  #observer(): AcquireObserver {
    const pools = this.#pools;
    const histograms = this.#histograms;
    const spans = this.#spans;
    return {
      wantsAcquires: spans !== null || histograms !== null,
      started(pool): { parent: Context; startedAt: number } | undefined {
        if (spans === null || !pools.has(pool)) return undefined;
        return { parent: context.active(), startedAt: epochNow() };
      },
      acquired: (pool, waitMs, start, priority, callerContext) => {
        const state = pools.get(pool);
        if (state === undefined) return;
        const partition = partitionOf(callerContext);
        // A manager's callers are recorded (and spanned) from the manager: their whole wait, once.
        if (partition !== undefined && state.partitions !== null) return;
        if (histograms !== null) {
          histograms.wait.record(waitMs / 1000, partition === undefined ? state.attrs : this.#partitionAttributes(state, partition));
        }
        // A pool acquire made by a manager may run in another caller's context: its span comes from the manager only.
        if (spans !== null && start !== undefined && partition === undefined) {
          spans.record({
            pool: pool.name,
            parent: start.parent,
            startedAt: start.startedAt,
            endedAt: epochNow(),
            priority,
            partition,
            error: undefined,
          });
        }
      },
      failed: (pool, error, start, priority, callerContext) => {
        const state = pools.get(pool);
        if (state === undefined || spans === null || start === undefined) return;
        if (partitionOf(callerContext) !== undefined) return;
        spans.record({
          pool: pool.name,
          parent: start.parent,
          startedAt: start.startedAt,
          endedAt: epochNow(),
          priority,
          partition: undefined,
          error,
        });
      },
      released: (pool, holdMs) => {
        const state = pools.get(pool);
        if (state === undefined || histograms === null || !(holdMs >= 0)) return;
        histograms.use.record(holdMs / 1000, state.attrs);
      },
      created: (pool, durationMs) => {
        const state = pools.get(pool);
        if (state === undefined || histograms === null) return;
        histograms.create.record(durationMs / 1000, state.attrs);
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
