import { InvalidConfigError } from '@pool/core';

/**
 * What a partition may use: the seed's `PartitionLimits`. Every field is optional when creating a
 * partition (the seed's `..Default::default()`); omitted fields take the defaults listed here.
 *
 * @example
 * ```ts
 * const limits: PartitionLimits = {
 *   maxConnections: 50,
 *   minConnections: 5,
 *   maxWaitQueue: 100,
 *   cpuLimitMs: 60_000, // one minute of connection time per rolling minute
 *   memoryLimitBytes: 1024 * 1024 * 1024, // 1 GiB
 *   ioLimit: 1000, // 1000 acquisitions per second
 * };
 * ```
 */
export interface PartitionLimits {
  /**
   * Connections the partition may hold at once (borrowed, or being acquired for it). Beyond it, its
   * callers wait in the partition's own queue. Default: the pool's `maxSize` when the partition is created.
   */
  readonly maxConnections: number;
  /**
   * Connections reserved for the partition: other partitions can never take the last slots of the
   * pool that this partition is entitled to but not using, so a partition under its minimum gets a
   * connection even when a neighbour floods. The minimums of a pool's partitions may add up to at most
   * the pool's `maxSize`. Default `0`.
   */
  readonly minConnections: number;
  /** Callers that may wait in the partition's queue; one more is refused at once with `PoolExhaustedError`. `0`: never wait. Default: the pool's `maxWaitQueueSize`. */
  readonly maxWaitQueue: number;
  /**
   * Connection-hold time the partition may use per rolling minute, in milliseconds (the time its
   * callers keep connections borrowed: a pool's honest measure of the database time a tenant uses).
   * `null`: unlimited. Default `null`.
   */
  readonly cpuLimitMs: number | null;
  /**
   * Bytes the partition's connections may account for: connections held times the per-connection
   * memory cost (`connectionMemoryBytes` in the options, or reported by the factory). `null`: unlimited.
   */
  readonly memoryLimitBytes: number | null;
  /** Acquisitions per second (a token bucket with a one-second burst). `null`: unlimited. Default `null`. */
  readonly ioLimit: number | null;
}

/** The limits as given to `createPartition` / `setLimits`: every field optional. */
export type PartitionLimitsInput = { readonly [K in keyof PartitionLimits]?: PartitionLimits[K] };

const KEYS: readonly (keyof PartitionLimits)[] = [
  'maxConnections',
  'minConnections',
  'maxWaitQueue',
  'cpuLimitMs',
  'memoryLimitBytes',
  'ioLimit',
];

function integer(field: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > Number.MAX_SAFE_INTEGER) {
    throw new InvalidConfigError(field, v, `must be an integer of at least ${min}`);
  }
  return v;
}

function positiveOrNull(field: string, v: unknown, what: string): number | null {
  if (v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new InvalidConfigError(field, v, `must be a finite number of ${what} greater than 0, or null for no limit`);
  }
  return v;
}

/**
 * Validates `input` over `base` (defaults or the current limits) and returns complete, frozen limits.
 * Throws `InvalidConfigError` naming `limits.<field>`.
 */
export function resolveLimits(input: unknown, base: PartitionLimits): PartitionLimits {
  if (input === undefined) return base;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidConfigError('limits', input, 'must be an object of PartitionLimits');
  }
  const given = input as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!KEYS.includes(key as keyof PartitionLimits)) {
      throw new InvalidConfigError(`limits.${key}`, given[key], `is not a partition limit; known: ${KEYS.join(', ')}`);
    }
  }
  const pick = (key: keyof PartitionLimits): unknown => (given[key] === undefined ? base[key] : given[key]);
  const maxConnections = integer('limits.maxConnections', pick('maxConnections'), 1);
  const minConnections = integer('limits.minConnections', pick('minConnections'), 0);
  if (minConnections > maxConnections) {
    throw new InvalidConfigError('limits.minConnections', minConnections, `must not exceed maxConnections (${maxConnections})`);
  }
  const maxWaitQueue = integer('limits.maxWaitQueue', pick('maxWaitQueue'), 0);
  const cpuLimitMs = positiveOrNull('limits.cpuLimitMs', pick('cpuLimitMs'), 'milliseconds');
  const memory = pick('memoryLimitBytes');
  const memoryLimitBytes = memory === null ? null : integer('limits.memoryLimitBytes', memory, 1);
  const ioLimit = positiveOrNull('limits.ioLimit', pick('ioLimit'), 'acquisitions per second');
  return Object.freeze({ maxConnections, minConnections, maxWaitQueue, cpuLimitMs, memoryLimitBytes, ioLimit });
}

/** The defaults for a partition of a pool with the given size limits. */
export function defaultLimits(pool: { maxSize: number; maxWaitQueueSize: number }): PartitionLimits {
  return Object.freeze({
    maxConnections: pool.maxSize,
    minConnections: 0,
    maxWaitQueue: pool.maxWaitQueueSize,
    cpuLimitMs: null,
    memoryLimitBytes: null,
    ioLimit: null,
  });
}
