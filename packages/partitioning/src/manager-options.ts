// The options of PartitionManager, of its createPartition and removePartition, and of acquires; and
// their validation (every error names the field and the rule).
import {
  type AcquireOptions,
  BasicWaitQueue,
  type ConnectionFactory,
  ConnectionPool,
  InvalidArgumentError,
  InvalidConfigError,
  isAbortSignal,
  type PoolConfigOptions,
  type PoolOptions,
  QUEUE_PRIORITIES,
  type WaitQueue,
} from '@pool/core';
import { checkOptionKeys } from '@pool/core/adapter';
import type { PrepareHook } from './partition.js';
import { checkRouting, type RoutingStrategy } from './routing.js';

/** A per-connection memory cost: fixed bytes, or measured on each connection handed out. */
export type ConnectionMemoryCost<C> = number | ((connection: C) => number);

/**
 * A factory that reports what one of its connections costs in memory (an adapter may implement it;
 * the manager uses it for `memoryLimitBytes` when no `connectionMemoryBytes` option is given).
 */
export interface MemoryReportingFactory<C> {
  connectionMemoryBytes(connection: C): number;
}

/** Options of {@link PartitionManager}. */
export interface PartitionManagerOptions<C> {
  /** The shared pool. Its config must have `enablePartitioning: true`. */
  pool: ConnectionPool<C>;
  /** How requests find their partition. */
  routing: RoutingStrategy;
  /** The partition that serves requests no partition matches; `null` (default): such requests fail with `PartitionError` (`'unrouted'`). */
  defaultPartition?: string | null;
  /**
   * Memory one connection accounts for, for `memoryLimitBytes`: bytes, or a function measuring a
   * connection. Default: the factory's `connectionMemoryBytes(conn)` when it has one.
   */
  connectionMemoryBytes?: ConnectionMemoryCost<C> | null;
  /** A `prepare` hook for every partition that does not set its own. Default: none. */
  prepare?: PrepareHook<C> | null;
  /**
   * Makes the wait queue of each partition (a fresh queue per partition). Default: first come, first
   * served (core's `BasicWaitQueue`). Give `() => new PriorityWaitQueue()` from `@pool/queue` to honour
   * `acquire({ priority })` within a partition.
   */
  waitQueue?: (() => WaitQueue) | null;
  /** A name for logs and isolated pools' names. Default `partitions-<n>`. */
  name?: string;
}

/** Makes an isolated partition: it gets a pool of its own, opened by the manager and closed with the partition. */
export interface IsolatedPoolOptions<C> {
  /** Opens the partition's connections (a tenant on its own database, or its own credentials). */
  factory: ConnectionFactory<C>;
  /**
   * The pool's config. Defaults: `minSize` = `minConnections`, `maxSize` = `maxConnections`,
   * `acquireTimeoutMs` = the shared pool's; `enablePartitioning` is always on.
   */
  config?: PoolConfigOptions;
  /** Other pool options (validator, aging policy...); `name` defaults to `<manager>/<partition id>`. */
  options?: PoolOptions;
}

/** Options of {@link PartitionManager.createPartition}. */
export interface PartitionOptions<C> {
  /**
   * Request keys routed to this partition by a key-based strategy (tenants of a tier, for
   * `TenantBased`). More can be added later with `manager.assign()`.
   */
  routeKeys?: readonly string[];
  /** Prepares a connection for this partition (see {@link PrepareHook}); `null` switches off the manager's default hook. */
  prepare?: PrepareHook<C> | null;
  /** The label of connections prepared for this partition. Default `partition:<id>`. */
  label?: string;
  /** Per-connection memory cost for this partition's `memoryLimitBytes`; overrides the manager's. */
  connectionMemoryBytes?: ConnectionMemoryCost<C>;
  /** This partition's wait queue (overrides the manager's `waitQueue`). A queue serves one partition only. */
  waitQueue?: WaitQueue;
  /** Gives the partition its own pool instead of a share of the manager's. */
  isolated?: IsolatedPoolOptions<C>;
}

/** Options of {@link PartitionManager.removePartition}. */
export interface RemovePartitionOptions {
  /**
   * What happens to callers already waiting in the partition's queue: `'serve'` (default) lets them be
   * served under the partition's limits within their deadlines; `'fail'` rejects them at once with
   * `PartitionError` (`'removed'`) so they can retry elsewhere.
   */
  waiters?: 'serve' | 'fail';
}

/** @internal The manager's options once validated, with their defaults applied. */
export interface ResolvedManagerOptions<C> {
  readonly routing: RoutingStrategy;
  readonly defaultPartition: string | null;
  readonly memoryCost: ConnectionMemoryCost<C> | null;
  readonly prepare: PrepareHook<C> | null;
  readonly makeQueue: () => WaitQueue;
  /** The name given, if any. */
  readonly name: string | undefined;
}

const MANAGER_KEYS = ['pool', 'routing', 'defaultPartition', 'connectionMemoryBytes', 'prepare', 'waitQueue', 'name'];
const PARTITION_KEYS = ['routeKeys', 'prepare', 'label', 'connectionMemoryBytes', 'waitQueue', 'isolated'];
const ACQUIRE_KEYS = ['signal', 'timeoutMs', 'priority', 'label', 'context'];
const ISOLATED_KEYS = ['factory', 'config', 'options'];
const QUEUE_METHODS = ['enqueue', 'dequeue', 'requeue', 'remove', 'values'] as const;

/**
 * @internal Validates the manager's options up to its pool: an object of known keys whose `pool` is an
 * open `ConnectionPool` with partitioning enabled. Returns that pool.
 */
export function checkManagerPool<C>(options: PartitionManagerOptions<C>): ConnectionPool<C> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidConfigError('options', options, 'must be { pool, routing, ... }');
  }
  checkOptionKeys(options, MANAGER_KEYS, 'PartitionManager');
  const pool: unknown = options.pool;
  if (!(pool instanceof ConnectionPool)) throw new InvalidConfigError('pool', pool, 'must be a ConnectionPool from @pool/core');
  if (pool.config.enablePartitioning !== true) {
    throw new InvalidConfigError(
      'pool.config.enablePartitioning',
      pool.config.enablePartitioning,
      'must be true to partition this pool (PoolConfig.builder().enablePartitioning(true))',
    );
  }
  if (pool.state !== 'open') throw new InvalidConfigError('pool', `pool '${pool.name}' (${pool.state})`, 'must be open');
  return pool as ConnectionPool<C>;
}

/** @internal Validates the manager's options other than `pool` (see {@link checkManagerPool}) and applies their defaults. */
export function resolveManagerOptions<C>(options: PartitionManagerOptions<C>): ResolvedManagerOptions<C> {
  const routing = checkRouting(options.routing);
  const def = options.defaultPartition ?? null;
  if (def !== null && (typeof def !== 'string' || def === '')) {
    throw new InvalidConfigError('defaultPartition', def, 'must be a partition id (a non-empty string) or null');
  }
  checkMemoryCost('connectionMemoryBytes', options.connectionMemoryBytes);
  if (options.prepare != null && typeof options.prepare !== 'function') {
    throw new InvalidConfigError('prepare', options.prepare, 'must be a function (connection, partition, { signal }) => Promise<void>');
  }
  if (options.waitQueue != null && typeof options.waitQueue !== 'function') {
    throw new InvalidConfigError('waitQueue', options.waitQueue, 'must be a function returning a new WaitQueue');
  }
  if (options.name !== undefined && (typeof options.name !== 'string' || options.name.trim() === '')) {
    throw new InvalidConfigError('name', options.name, 'must be a non-empty string');
  }
  const makeQueue = options.waitQueue ?? null;
  return {
    routing,
    defaultPartition: def,
    memoryCost: options.connectionMemoryBytes ?? null,
    prepare: options.prepare ?? null,
    makeQueue: makeQueue === null ? () => new BasicWaitQueue({ order: 'fifo' }) : makeQueue,
    name: options.name,
  };
}

/** @internal Validates a `connectionMemoryBytes` option (absent, null, a function, or bytes). */
export function checkMemoryCost(field: string, cost: unknown): void {
  if (cost === undefined || cost === null || typeof cost === 'function') return;
  if (typeof cost !== 'number' || !Number.isFinite(cost) || cost < 0) {
    throw new InvalidConfigError(field, cost, 'must be a number of bytes (0 or more) or a function (connection) => bytes');
  }
}

/** @internal Validates the shape of `createPartition`'s options: an object of known keys, with a well-formed `isolated`. */
export function checkPartitionOptions(options: unknown): void {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidConfigError('options', options, 'must be an object of partition options');
  }
  for (const key of Object.keys(options)) {
    if (!PARTITION_KEYS.includes(key)) {
      throw new InvalidConfigError(
        `options.${key}`,
        (options as Record<string, unknown>)[key],
        `is not a partition option; known: ${PARTITION_KEYS.join(', ')}`,
      );
    }
  }
  const isolated = (options as PartitionOptions<unknown>).isolated;
  if (isolated !== undefined) checkIsolated(isolated);
}

function checkIsolated(isolated: unknown): void {
  if (typeof isolated !== 'object' || isolated === null) {
    throw new InvalidConfigError('options.isolated', isolated, 'must be { factory, config?, options? }');
  }
  for (const key of Object.keys(isolated)) {
    if (!ISOLATED_KEYS.includes(key)) {
      throw new InvalidConfigError(
        `options.isolated.${key}`,
        (isolated as Record<string, unknown>)[key],
        `is not an isolated-pool option; known: ${ISOLATED_KEYS.join(', ')}`,
      );
    }
  }
  const f = (isolated as { factory?: unknown }).factory;
  if (typeof f !== 'object' || f === null || typeof (f as ConnectionFactory<unknown>).create !== 'function') {
    throw new InvalidConfigError('options.isolated.factory', f, 'must be a ConnectionFactory (create, close, ...)');
  }
}

/** @internal Validates a partition's `prepare` hook and `label` options. */
export function checkPrepareOptions(prepare: unknown, label: unknown): void {
  if (prepare !== null && typeof prepare !== 'function') {
    throw new InvalidConfigError('options.prepare', prepare, 'must be a function (connection, partition, { signal }) => Promise<void>');
  }
  if (label !== undefined && (typeof label !== 'string' || label === '')) {
    throw new InvalidConfigError('options.label', label, 'must be a non-empty string');
  }
}

/** @internal Validates a partition's wait queue: a `WaitQueue` that is empty and not already `inUse` by another partition. */
export function checkWaitQueue(queue: WaitQueue, inUse: boolean): void {
  for (const m of QUEUE_METHODS) {
    if (typeof queue?.[m] !== 'function') {
      throw new InvalidConfigError(`waitQueue.${m}`, queue?.[m], 'must be a function (see the WaitQueue interface of @pool/core)');
    }
  }
  if (inUse || queue.size !== 0) {
    throw new InvalidConfigError('waitQueue', '[WaitQueue]', 'must be a new, empty queue: a queue serves one partition only');
  }
}

/** @internal Validates core's `AcquireOptions` given to an acquire; returns an `InvalidArgumentError` naming the field, or null. */
export function checkAcquireOptions(options: AcquireOptions | undefined): InvalidArgumentError | null {
  if (options === undefined) return null;
  if (typeof options !== 'object' || options === null) {
    return new InvalidArgumentError('options', options, 'must be an object of acquire options');
  }
  for (const key in options) {
    if (!ACQUIRE_KEYS.includes(key)) {
      return new InvalidArgumentError(
        `options.${key}`,
        (options as Record<string, unknown>)[key],
        `is not an acquire option; known: ${ACQUIRE_KEYS.join(', ')}`,
      );
    }
  }
  const { timeoutMs, signal, priority, label } = options;
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || timeoutMs > 2_147_483_647)) {
    return new InvalidArgumentError(
      'timeoutMs',
      timeoutMs,
      'must be a finite number of milliseconds greater than 0 and at most 2147483647',
    );
  }
  if (signal !== undefined && !isAbortSignal(signal)) {
    return new InvalidArgumentError('signal', signal, 'must be an AbortSignal');
  }
  if (priority !== undefined && !QUEUE_PRIORITIES.includes(priority)) {
    return new InvalidArgumentError('priority', priority, `must be one of ${QUEUE_PRIORITIES.map((q) => `'${q}'`).join(', ')}`);
  }
  if (label !== undefined && typeof label !== 'string') return new InvalidArgumentError('label', label, 'must be a string');
  return null;
}
