import { InvalidConfigError } from './errors.js';

/** The largest delay a Node.js timer honours (about 24.8 days); longer ones would fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * Everything a pool can be configured with. Every field is optional in {@link PoolConfig.from} and in
 * the builder; omitted fields take the defaults listed here. Durations are milliseconds (`Ms` suffix);
 * `null` switches an optional behaviour off.
 */
export interface PoolConfigOptions {
  /** Connections kept open even when idle. Maintenance refills the pool to this size. Default `0`. */
  minSize?: number;
  /** Upper bound on open connections plus connections being created. Default `10`. */
  maxSize?: number;
  /**
   * Connections opened by `ConnectionPool.create` before it resolves. Default: `minSize`. Must be at most
   * `maxSize`; when it is below `minSize`, maintenance tops the pool up to `minSize` in the background.
   */
  initialSize?: number;
  /** How long `acquire()` waits for a connection before rejecting with `ConnectionTimeoutError`. Default `30000`. */
  acquireTimeoutMs?: number;
  /**
   * Maximum age of a connection; an older one is retired when it is next idle (never while borrowed),
   * with up to 2.5% jitter so connections opened together do not all reconnect at once. `null`: no limit.
   * Default `1800000` (30 minutes).
   */
  maxLifetimeMs?: number | null;
  /** An idle connection unused for this long is closed by maintenance, down to `minSize`. `null`: never. Default `600000`. */
  idleTimeoutMs?: number | null;
  /**
   * At most this many idle connections are kept: maintenance closes the ones beyond it, least recently
   * used first, down to `minSize` (mysql2's `maxIdle`). `null`: no cap. Default `null`.
   */
  maxIdle?: number | null;
  /** Validate a connection (`factory.validate`, or the pool's `ConnectionValidator`) before handing it out. Default `false`. */
  validateOnAcquire?: boolean;
  /** Validate a connection when it is released, before it becomes available again. Default `false`. */
  validateOnRelease?: boolean;
  /** A validation that takes longer than this fails and its connection is destroyed. Default `5000`. */
  validationTimeoutMs?: number;
  /** Callers allowed to wait at once; one more is refused with `PoolExhaustedError`. `0`: never wait. Default `10000`. */
  maxWaitQueueSize?: number;
  /** Maximum connection creations per second (a token bucket with a one-second burst). `null`: unthrottled. Default `null`. */
  creationThrottle?: number | null;
  /** How often background maintenance runs (idle reaping, lifetime retirement, refill, leak flags). Default `30000`. */
  maintenanceIntervalMs?: number;
  /** Prepared statements each connection may cache; read by driver adapters. `0`: no cache. Default `0`. */
  statementCacheSize?: number;
  /** A borrow held longer than this raises a `leak` event (once per borrow). `null`: off. Default `null`. */
  leakDetectionThresholdMs?: number | null;
  /**
   * `true`: waiters are served first come, first served. `false`: the most recent waiter is served first
   * (lower latency for the callers that are served when the pool is overloaded, at the cost of fairness).
   * Applies to the built-in wait queue; a custom wait queue defines its own order. Default `true`.
   */
  fairQueue?: boolean;
  /** Allow `@pool/partitioning` to partition this pool. Default `false`. */
  enablePartitioning?: boolean;
  /** A `factory.create()` that takes longer than this is aborted and counted as failed. Default `30000`. */
  createTimeoutMs?: number;
  /** A `factory.reset()` that takes longer than this fails and its connection is destroyed. Default `5000`. */
  resetTimeoutMs?: number;
  /** How long `close()` waits for borrowed connections to come back before closing them anyway. Default `30000`. */
  closeTimeoutMs?: number;
  /**
   * First delay before retrying after a failed `create()`; doubles per consecutive failure. Default `100`.
   * `0`: no backoff, the next caller's request tries again (pg.Pool's way), but while connects fail one at a time and at most once per 100 ms.
   */
  createRetryDelayMs?: number;
  /** Upper bound of that retry delay. Default `5000`. */
  createRetryMaxDelayMs?: number;
  /**
   * While connects fail and callers wait, one probe connect is made this often (one connect in flight at
   * a time), whatever the retry delay has grown to: the pool notices a recovered database within about
   * this long instead of `createRetryMaxDelayMs`, without a connect storm. `null`: retry only on the
   * backoff. Default `150`.
   */
  createProbeIntervalMs?: number | null;
}

/** The full, validated configuration: every field present. */
export type PoolConfigValues = { readonly [K in keyof PoolConfigOptions]-?: Exclude<PoolConfigOptions[K], undefined> };

type Rule = (value: unknown) => string | null;

const integer =
  (min: number, max = Number.MAX_SAFE_INTEGER): Rule =>
  (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max
      ? null
      : `must be an integer between ${min} and ${max === Number.MAX_SAFE_INTEGER ? 'Number.MAX_SAFE_INTEGER' : max}`;
const duration =
  (min: number): Rule =>
  (v) =>
    typeof v === 'number' && Number.isFinite(v) && v >= min && v <= MAX_TIMER_MS
      ? null
      : `must be a finite number of milliseconds between ${min} and ${MAX_TIMER_MS}`;
const rate: Rule = (v) =>
  typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= 1_000_000
    ? null
    : 'must be a number of creations per second greater than 0 and at most 1000000';
const bool: Rule = (v) => (typeof v === 'boolean' ? null : 'must be true or false');
const orNull =
  (rule: Rule): Rule =>
  (v) => {
    if (v === null) return null;
    const problem = rule(v);
    return problem === null ? null : `${problem}, or null to switch it off`;
  };

/** One row per field: its default and its rule. The builder and validation are derived from this. */
const FIELDS = {
  minSize: { default: 0, rule: integer(0) },
  maxSize: { default: 10, rule: integer(1) },
  initialSize: { default: undefined, rule: integer(0) },
  acquireTimeoutMs: { default: 30_000, rule: duration(1) },
  maxLifetimeMs: { default: 1_800_000, rule: orNull(duration(1)) },
  idleTimeoutMs: { default: 600_000, rule: orNull(duration(1)) },
  maxIdle: { default: null, rule: orNull(integer(0)) },
  validateOnAcquire: { default: false, rule: bool },
  validateOnRelease: { default: false, rule: bool },
  validationTimeoutMs: { default: 5_000, rule: duration(1) },
  maxWaitQueueSize: { default: 10_000, rule: integer(0) },
  creationThrottle: { default: null, rule: orNull(rate) },
  maintenanceIntervalMs: { default: 30_000, rule: duration(10) },
  statementCacheSize: { default: 0, rule: integer(0, 1_000_000) },
  leakDetectionThresholdMs: { default: null, rule: orNull(duration(1)) },
  fairQueue: { default: true, rule: bool },
  enablePartitioning: { default: false, rule: bool },
  createTimeoutMs: { default: 30_000, rule: duration(1) },
  resetTimeoutMs: { default: 5_000, rule: duration(1) },
  closeTimeoutMs: { default: 30_000, rule: duration(0) },
  createRetryDelayMs: { default: 100, rule: duration(0) },
  createRetryMaxDelayMs: { default: 5_000, rule: duration(1) },
  createProbeIntervalMs: { default: 150, rule: orNull(duration(10)) },
} as const satisfies Record<keyof PoolConfigOptions, { default: unknown; rule: Rule }>;

const FIELD_NAMES = Object.keys(FIELDS) as (keyof PoolConfigOptions)[];

function validate(options: unknown): PoolConfigValues {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidConfigError('config', options, 'must be an object of pool options');
  }
  const input = options as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!Object.hasOwn(FIELDS, key)) {
      const hint = FIELD_NAMES.find((name) => name.toLowerCase() === key.toLowerCase().replaceAll('_', ''));
      throw new InvalidConfigError(
        key,
        input[key],
        `is not a pool option${hint === undefined ? '' : ` (did you mean '${hint}'?)`}; known options: ${FIELD_NAMES.join(', ')}`,
      );
    }
  }
  const out: Record<string, unknown> = {};
  for (const name of FIELD_NAMES) {
    const given = input[name];
    if (given === undefined) {
      out[name] = FIELDS[name].default;
      continue;
    }
    const problem = FIELDS[name].rule(given);
    if (problem !== null) throw new InvalidConfigError(name, given, problem);
    out[name] = given;
  }
  if (out.initialSize === undefined) out.initialSize = Math.min(out.minSize as number, out.maxSize as number);
  const v = out as PoolConfigValues;
  if (v.minSize > v.maxSize) throw new InvalidConfigError('minSize', v.minSize, `must not exceed maxSize (${v.maxSize})`);
  if (v.initialSize > v.maxSize) {
    throw new InvalidConfigError('initialSize', v.initialSize, `must not exceed maxSize (${v.maxSize})`);
  }
  if (v.createRetryDelayMs > v.createRetryMaxDelayMs) {
    throw new InvalidConfigError(
      'createRetryDelayMs',
      v.createRetryDelayMs,
      `must not exceed createRetryMaxDelayMs (${v.createRetryMaxDelayMs})`,
    );
  }
  return v;
}

/**
 * An immutable, validated pool configuration. Build one with {@link PoolConfig.builder},
 * {@link PoolConfig.from} or {@link PoolConfig.default}; each validates every field and throws
 * `InvalidConfigError` naming the field, the value and the rule it broke.
 *
 * @example
 * ```ts
 * const config = PoolConfig.builder()
 *   .minSize(10)
 *   .maxSize(100)
 *   .initialSize(20)
 *   .acquireTimeoutMs(30_000)
 *   .maxLifetimeMs(3_600_000)
 *   .statementCacheSize(100)
 *   .build();
 * ```
 */
export class PoolConfig {
  declare readonly minSize: number;
  declare readonly maxSize: number;
  declare readonly initialSize: number;
  declare readonly acquireTimeoutMs: number;
  declare readonly maxLifetimeMs: number | null;
  declare readonly idleTimeoutMs: number | null;
  declare readonly maxIdle: number | null;
  declare readonly validateOnAcquire: boolean;
  declare readonly validateOnRelease: boolean;
  declare readonly validationTimeoutMs: number;
  declare readonly maxWaitQueueSize: number;
  declare readonly creationThrottle: number | null;
  declare readonly maintenanceIntervalMs: number;
  declare readonly statementCacheSize: number;
  declare readonly leakDetectionThresholdMs: number | null;
  declare readonly fairQueue: boolean;
  declare readonly enablePartitioning: boolean;
  declare readonly createTimeoutMs: number;
  declare readonly resetTimeoutMs: number;
  declare readonly closeTimeoutMs: number;
  declare readonly createRetryDelayMs: number;
  declare readonly createRetryMaxDelayMs: number;
  declare readonly createProbeIntervalMs: number | null;

  private constructor(values: PoolConfigValues) {
    Object.assign(this, values);
    Object.freeze(this);
  }

  /** Validates `options` (unknown keys are rejected) and returns a frozen config with defaults filled in. */
  static from(options: PoolConfigOptions = {}): PoolConfig {
    if (options instanceof PoolConfig) return options;
    return new PoolConfig(validate(options));
  }

  /** The default configuration (the seed's `PoolConfig::default()`). */
  static default(): PoolConfig {
    return PoolConfig.from({});
  }

  /** A fluent builder: one method per option, then `build()`, which validates. */
  static builder(): PoolConfigBuilder {
    return new Builder() as unknown as PoolConfigBuilder;
  }

  /** A copy of this config with `changes` applied, validated as a whole. */
  with(changes: PoolConfigOptions): PoolConfig {
    return PoolConfig.from({ ...this.toJSON(), ...changes });
  }

  /** Plain data, safe to serialise. */
  toJSON(): PoolConfigValues {
    const out: Record<string, unknown> = {};
    for (const name of FIELD_NAMES) out[name] = this[name];
    return out as PoolConfigValues;
  }
}

/** The fluent builder returned by {@link PoolConfig.builder}: one setter per {@link PoolConfigOptions} field. */
export type PoolConfigBuilder = {
  readonly [K in keyof PoolConfigOptions]-?: (value: Exclude<PoolConfigOptions[K], undefined>) => PoolConfigBuilder;
} & {
  /** Validates every field and returns the frozen {@link PoolConfig}; throws `InvalidConfigError`. */
  build(): PoolConfig;
};

class Builder {
  readonly #options: Record<string, unknown> = {};

  build(): PoolConfig {
    return PoolConfig.from({ ...this.#options } as PoolConfigOptions);
  }

  static {
    for (const name of FIELD_NAMES) {
      Object.defineProperty(Builder.prototype, name, {
        value(this: Builder, value: unknown) {
          this.#options[name] = value;
          return this;
        },
      });
    }
  }
}
