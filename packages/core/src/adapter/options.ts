import { InvalidConfigError, MAX_TIMER_MS, PoolConfig, type PoolConfigOptions, type PoolOptions } from '@pool/core';

/**
 * Returns `value` when it is an integer of at least `min` (and at most `max`, when given); otherwise
 * throws `InvalidConfigError` naming `field` and the rule.
 *
 * @example
 * ```ts
 * const port = checkInteger('port', config.port, 1, 65_535);
 * ```
 */
export function checkInteger(field: string, value: unknown, min: number, max?: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || (max !== undefined && value > max)) {
    throw new InvalidConfigError(
      field,
      value,
      max === undefined ? `must be an integer >= ${min}` : `must be an integer between ${min} and ${max}`,
    );
  }
  return value;
}

/**
 * Returns `value` when it is a number of milliseconds from `min` to the longest timer Node.js runs
 * (`MAX_TIMER_MS`); otherwise throws `InvalidConfigError` naming `field` and the range.
 */
export function checkMilliseconds(field: string, value: unknown, min = 0): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > MAX_TIMER_MS) {
    throw new InvalidConfigError(field, value, `must be a number of milliseconds between ${min} and ${MAX_TIMER_MS}`);
  }
  return value;
}

/** Returns `value` when it is `true` or `false`; otherwise throws `InvalidConfigError` naming `field`. */
export function checkBoolean(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new InvalidConfigError(field, value, 'must be true or false');
  return value;
}

/**
 * For an optional callback such as `onConnect`: returns `null` for `null` or `undefined`, `value` when it
 * is a function, and otherwise throws `InvalidConfigError` naming `field`.
 */
export function checkOptionalFunction<F extends (...args: never[]) => unknown>(field: string, value: F | null | undefined): F | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'function') throw new InvalidConfigError(field, value, 'must be a function');
  return value;
}

/**
 * Returns `value` when it is one of `allowed`; otherwise throws `InvalidConfigError` naming `field` and
 * listing the choices (`must be 'session' or 'all'`).
 */
export function checkOneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) throw new InvalidConfigError(field, value, `must be ${listChoices(allowed)}`);
  return value as T;
}

/** @internal `'a', 'b' or 'c'`. */
export function listChoices(choices: readonly string[]): string {
  const quoted = choices.map((c) => `'${c}'`);
  return quoted.length <= 1 ? (quoted[0] ?? 'nothing') : `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
}

/**
 * Checks that `options` is an object whose keys are all in `known`, so a misspelt option fails at once
 * instead of being ignored. The error names the key, `owner` (the function the options are for) and
 * the known keys, followed by `hint` when given.
 *
 * @example
 * ```ts
 * checkOptionKeys(options, ['statementCacheSize', 'onConnect'], 'fooFactory');
 * // fooFactory({ statmentCacheSize: 5 }) -> statmentCacheSize = 5: is not a fooFactory option; known: statementCacheSize, onConnect
 * ```
 */
export function checkOptionKeys(options: unknown, known: readonly string[], owner: string, hint?: string): void {
  if (typeof options !== 'object' || options === null) throw new InvalidConfigError('options', options, 'must be an object');
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      const rule = `is not a ${owner} option; known: ${known.join(', ')}`;
      throw new InvalidConfigError(key, (options as Record<string, unknown>)[key], hint === undefined ? rule : `${rule} ${hint}`);
    }
  }
}

/**
 * The error for two settings that say different things: names `field` (with its `value`) and `other`
 * (with what it says, in the caller's words), and tells the user to give only one of them, or `advice`.
 *
 * @example
 * ```ts
 * throw optionConflict('maxPreparedStatements', 3, 'statementCacheSize (4)');
 * // maxPreparedStatements = 3: conflicts with statementCacheSize (4); give one of them
 * ```
 */
export function optionConflict(field: string, value: unknown, other: string, advice = 'give one of them'): InvalidConfigError {
  return new InvalidConfigError(field, value, `conflicts with ${other}; ${advice}`);
}

function shownValue(value: unknown): string {
  if (typeof value === 'string') return ` ('${value}')`;
  if (typeof value === 'number' || typeof value === 'boolean') return ` (${String(value)})`;
  return '';
}

/**
 * Turns the pool options of a driver's own pool (`pg.Pool`'s `max`, mysql2's `connectionLimit`...) into
 * `@pool/core`'s `PoolConfig` and `PoolOptions`, so an adapter's `createXxxPool(config)` takes the config
 * its users already have. The options object may also carry `poolConfig` (a `PoolConfig` or its options)
 * and `poolOptions`; a driver option that says something else than a field `poolConfig` sets is refused,
 * naming both. What the adapter does not take stays in {@link rest}, for the driver.
 *
 * @example
 * ```ts
 * const mapping = new PoolConfigMapping(options, 'must be an object (a foo pool config)');
 * if (mapping.rest.max !== undefined) mapping.set('max', 'maxSize', checkInteger('max', mapping.rest.max, 1));
 * const factoryOptions = mapping.take(['statementCacheSize', 'onConnect']);
 * const pool = ConnectionPool.open(mapping.build(), fooFactory(mapping.rest, factoryOptions), mapping.poolOptions);
 * ```
 */
export class PoolConfigMapping {
  /** The options not taken yet, without `poolConfig` and `poolOptions`: what is left goes to the driver. */
  readonly rest: Record<string, unknown>;
  /** A copy of the given `poolOptions`, to which driver options may add. */
  readonly poolOptions: PoolOptions;
  readonly #given: Readonly<Record<string, unknown>>;
  readonly #config: Record<string, unknown>;
  /** The `poolConfig` fields set explicitly (none when a built `PoolConfig` was given: its fields are all defaults or choices). */
  readonly #explicit: ReadonlySet<string>;

  /**
   * Splits `options`. Throws `InvalidConfigError` with `rule` when it is not an object, and when
   * `poolConfig` is neither a `PoolConfig` nor an object.
   */
  constructor(options: unknown, rule = 'must be an object') {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new InvalidConfigError('options', options, rule);
    this.#given = { ...(options as Record<string, unknown>) };
    const { poolConfig, poolOptions, ...rest } = this.#given;
    const config = poolConfig === undefined ? {} : poolConfig instanceof PoolConfig ? poolConfig.toJSON() : poolConfig;
    if (typeof config !== 'object' || config === null) {
      throw new InvalidConfigError('poolConfig', config, 'must be a PoolConfig or an object of pool options');
    }
    this.rest = rest;
    this.#config = { ...config };
    this.#explicit = new Set(poolConfig instanceof PoolConfig ? [] : Object.keys(this.#config));
    this.poolOptions = { ...((poolOptions as PoolOptions | undefined) ?? {}) };
  }

  /** True when `poolConfig` set `field` itself. */
  given(field: keyof PoolConfigOptions): boolean {
    return this.#explicit.has(field);
  }

  /** The value `field` has now (set by `poolConfig` or by this mapping), or `undefined`. */
  get(field: keyof PoolConfigOptions): unknown {
    return this.#config[field];
  }

  /**
   * Sets `field` from the driver option `from`. Throws `InvalidConfigError` naming both when
   * `poolConfig` set `field` to something else.
   */
  set(from: string, field: keyof PoolConfigOptions, value: unknown): void {
    if (this.#explicit.has(field) && this.#config[field] !== value) {
      throw optionConflict(from, this.#given[from], `poolConfig.${field} (${String(this.#config[field])})`);
    }
    this.#config[field] = value;
  }

  /** Sets `field` unless `poolConfig` set it: for a value a driver option implies (a connect timeout from an acquire timeout). */
  setUnlessGiven(field: keyof PoolConfigOptions, value: unknown): void {
    if (!this.#explicit.has(field)) this.#config[field] = value;
  }

  /**
   * Runs maintenance often enough for connections to close close to `idleTimeoutMs`: every half of it,
   * from 10 ms to 30 s, unless `poolConfig` sets `maintenanceIntervalMs`.
   */
  maintainFor(idleTimeoutMs: number): void {
    this.setUnlessGiven('maintenanceIntervalMs', Math.max(10, Math.min(30_000, Math.floor(idleTimeoutMs / 2))));
  }

  /**
   * Sets pool option `key` from the driver option `from`. Throws `InvalidConfigError` naming both when
   * `poolOptions` already sets `key` to something else; the message ends with `advice`.
   */
  setOption<K extends keyof PoolOptions>(from: string, key: K, value: PoolOptions[K], advice?: string): void {
    const current = this.poolOptions[key];
    if (current != null && current !== value)
      throw optionConflict(from, this.#given[from], `poolOptions.${key}${shownValue(current)}`, advice);
    this.poolOptions[key] = value;
  }

  /** Removes `keys` from {@link rest} and returns those that were given (not `undefined`). */
  take(keys: readonly string[]): Record<string, unknown> {
    const taken: Record<string, unknown> = {};
    for (const key of keys) {
      if (this.rest[key] !== undefined) taken[key] = this.rest[key];
      delete this.rest[key];
    }
    return taken;
  }

  /** Validates the config (`PoolConfig.from`, which throws `InvalidConfigError` naming a bad field). */
  build(): PoolConfig {
    return PoolConfig.from(this.#config as PoolConfigOptions);
  }
}
