import { runBounded } from './bounded.js';
import { now } from './clock.js';
import { InvalidArgumentError, InvalidConfigError } from './errors.js';
import type { ConnectionFactory } from './factory.js';
import { kLender, kSlot, type PooledConnection } from './pooled-connection.js';

/** How a validation ended. `skipped`: fast validation trusted a connection used successfully moments ago. */
export type ValidationOutcome = 'valid' | 'invalid' | 'timeout' | 'error' | 'skipped';

/** Options of a {@link ConnectionValidator}. */
export interface ConnectionValidatorOptions {
  /** A validation slower than this fails (and the pool destroys the connection). Default `5000`. */
  timeoutMs?: number;
  /** The query passed to `factory.validate` (for adapters that run one, e.g. `'SELECT 1'`). */
  query?: string;
  /** Skip the round-trip for a connection used successfully within `fastValidationWindowMs`. Default `false`. */
  fastValidation?: boolean;
  /** How recent a successful use must be for fast validation to trust it (HikariCP uses 500). Default `500`. */
  fastValidationWindowMs?: number;
}

/** Counters of a {@link ConnectionValidator}. */
export interface ValidatorStatistics {
  /** Validations asked for, skipped ones included. */
  validations: number;
  /** Round-trips actually run. */
  checks: number;
  /** Skipped by fast validation. */
  skipped: number;
  /** The connection was reported unusable or the check threw. */
  failures: number;
  /** The check exceeded `timeoutMs` (also counted in `failures`). */
  timeouts: number;
  /** Passed / asked, 1 when nothing was asked. */
  successRate: number;
  /** Mean duration of the round-trips run, in ms. */
  averageTimeMs: number;
}

const OPTION_KEYS = ['timeoutMs', 'query', 'fastValidation', 'fastValidationWindowMs'];

/**
 * Decides whether a connection is still usable, with a bounded round-trip and an optional
 * fast path. Give one to a pool (`ConnectionPool.create(config, factory, { validator })`) and it is used
 * for `validateOnAcquire` / `validateOnRelease`; it can also validate a borrowed connection directly.
 *
 * @example
 * ```ts
 * const validator = new ConnectionValidator({ timeoutMs: 5_000 })
 *   .withQuery('SELECT 1')
 *   .withFastValidation(true);
 * const isValid = await validator.validate(conn);
 * console.log(`Validation success rate: ${(validator.statistics().successRate * 100).toFixed(2)}%`);
 * ```
 */
export class ConnectionValidator {
  readonly timeoutMs: number;
  readonly query: string | undefined;
  readonly fastValidation: boolean;
  readonly fastValidationWindowMs: number;
  readonly #stats: { validations: number; checks: number; skipped: number; failures: number; timeouts: number; totalMs: number };

  constructor(options: ConnectionValidatorOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidConfigError('validator', options, 'options must be an object');
    }
    for (const key of Object.keys(options)) {
      if (!OPTION_KEYS.includes(key)) {
        throw new InvalidConfigError(
          `validator.${key}`,
          (options as Record<string, unknown>)[key],
          `is not a validator option; known: ${OPTION_KEYS.join(', ')}`,
        );
      }
    }
    const { timeoutMs = 5_000, query, fastValidation = false, fastValidationWindowMs = 500 } = options;
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > 2_147_483_647) {
      throw new InvalidConfigError('validator.timeoutMs', timeoutMs, 'must be a finite number of milliseconds between 1 and 2147483647');
    }
    if (query !== undefined && (typeof query !== 'string' || query.trim() === '')) {
      throw new InvalidConfigError('validator.query', query, 'must be a non-empty string');
    }
    if (typeof fastValidation !== 'boolean') {
      throw new InvalidConfigError('validator.fastValidation', fastValidation, 'must be true or false');
    }
    if (typeof fastValidationWindowMs !== 'number' || !Number.isFinite(fastValidationWindowMs) || fastValidationWindowMs < 0) {
      throw new InvalidConfigError(
        'validator.fastValidationWindowMs',
        fastValidationWindowMs,
        'must be a finite number of milliseconds, at least 0',
      );
    }
    this.timeoutMs = timeoutMs;
    this.query = query;
    this.fastValidation = fastValidation;
    this.fastValidationWindowMs = fastValidationWindowMs;
    this.#stats = { validations: 0, checks: 0, skipped: 0, failures: 0, timeouts: 0, totalMs: 0 };
  }

  #options(): ConnectionValidatorOptions {
    return {
      timeoutMs: this.timeoutMs,
      ...(this.query === undefined ? {} : { query: this.query }),
      fastValidation: this.fastValidation,
      fastValidationWindowMs: this.fastValidationWindowMs,
    };
  }

  /** A copy that passes `query` to `factory.validate`. */
  withQuery(query: string): ConnectionValidator {
    return new ConnectionValidator({ ...this.#options(), query });
  }

  /** A copy with fast validation on or off, optionally with its trust window in ms. */
  withFastValidation(enabled: boolean, windowMs?: number): ConnectionValidator {
    return new ConnectionValidator({
      ...this.#options(),
      fastValidation: enabled,
      ...(windowMs === undefined ? {} : { fastValidationWindowMs: windowMs }),
    });
  }

  /** True when fast validation may skip the round-trip for a connection last used successfully at `lastSuccessAt`. */
  canSkip(lastSuccessAt: number, at: number = now()): boolean {
    return this.fastValidation && at - lastSuccessAt <= this.fastValidationWindowMs;
  }

  /** Counts a validation that the pool skipped because {@link canSkip} trusted the connection. */
  recordSkipped(): void {
    this.#stats.validations++;
    this.#stats.skipped++;
  }

  /**
   * Validates a borrowed connection (the seed's `validator.validate(&connection)`). Resolves `true` when
   * it is usable; never rejects for a failing or hanging check (that is `false`).
   */
  async validate<C>(conn: PooledConnection<C>): Promise<boolean> {
    if (conn === null || typeof conn !== 'object' || !(kSlot in conn)) {
      throw new InvalidArgumentError('conn', conn, 'must be a PooledConnection from pool.acquire()');
    }
    const connection = conn.connection; // throws when released
    const slot = conn[kSlot];
    const outcome = await this.check(conn[kLender].factory, connection, slot.lastSuccessAt);
    if (outcome === 'valid') slot.lastSuccessAt = now();
    return outcome === 'valid' || outcome === 'skipped';
  }

  /**
   * Validates a raw connection through `factory.validate`, bounded by `timeoutMs`; what the pool calls.
   * A factory without `validate` passes every connection.
   */
  async check<C>(factory: ConnectionFactory<C>, connection: C, lastSuccessAt = Number.NEGATIVE_INFINITY): Promise<ValidationOutcome> {
    const stats = this.#stats;
    stats.validations++;
    const start = now();
    if (this.canSkip(lastSuccessAt, start)) {
      stats.skipped++;
      return 'skipped';
    }
    const validate = factory.validate;
    if (validate === undefined) return 'valid';
    stats.checks++;
    const query = this.query;
    const result = await runBounded('validate', this.timeoutMs, (ctx) => validate.call(factory, connection, ctx), { query });
    stats.totalMs += now() - start;
    if (result.ok && result.value === true) return 'valid';
    stats.failures++;
    if (result.ok) return 'invalid';
    if (result.timedOut) {
      stats.timeouts++;
      return 'timeout';
    }
    return 'error';
  }

  /** Counters since the validator was made. */
  statistics(): ValidatorStatistics {
    const s = this.#stats;
    const passed = s.validations - s.failures;
    return {
      validations: s.validations,
      checks: s.checks,
      skipped: s.skipped,
      failures: s.failures,
      timeouts: s.timeouts,
      successRate: s.validations === 0 ? 1 : passed / s.validations,
      averageTimeMs: s.checks === 0 ? 0 : s.totalMs / s.checks,
    };
  }
}
