import { now } from './clock.js';
import { describe as describeError, type PoolError } from './errors.js';
import type { DestroyReason } from './events.js';

/**
 * Where a pool (and an adapter, through {@link writeLog}) reports what an operator should know: any
 * object with `debug`, `info`, `warn` and `error` methods. `console`, pino, bunyan and winston loggers
 * fit as they are: pino and bunyan (recognised by their `levels.values` and `streams`) are called as
 * `logger.warn(fields, message)`, every other logger as `logger.warn(message, fields)`.
 *
 * What the engine logs, at levels a production service can leave on (nothing per acquire):
 * `warn` when connects start failing (then at most every 10 s while they keep failing), `error` when a
 * connect fails with an error retrying cannot fix, `info` when connects succeed again after failures,
 * `warn` for each leaked borrow, `error` for problems the pool contained (a throwing listener, a failing
 * `factory.close()`; at most every 10 s per kind), and `debug` for each connection it retires or evicts.
 *
 * @example
 * ```ts
 * const pool = await ConnectionPool.create(config, factory, { logger: console });
 * // or: { logger: pino() }, { logger: winston.createLogger(...) }, { logger: bunyan.createLogger(...) }
 * ```
 */
export interface PoolLogger {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/** A {@link PoolLogger} method. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** @internal True when `logger` has the four methods of a {@link PoolLogger}. */
export function isPoolLogger(logger: unknown): logger is PoolLogger {
  if (typeof logger !== 'object' || logger === null) return false;
  const l = logger as Record<string, unknown>;
  return LEVELS.every((level) => typeof l[level] === 'function');
}

/** Loggers that take the fields first: pino (`levels.values`) and bunyan (`streams`, `addStream`). */
function fieldsFirst(logger: PoolLogger): boolean {
  const l = logger as unknown as { levels?: { values?: unknown }; streams?: unknown; addStream?: unknown };
  return (
    (typeof l.levels === 'object' && l.levels !== null && typeof l.levels.values === 'object') ||
    (Array.isArray(l.streams) && typeof l.addStream === 'function')
  );
}

const styles = new WeakMap<PoolLogger, boolean>();

/**
 * Writes one line to `logger` at `level`, in the argument order it expects: `(fields, message)` for pino
 * and bunyan, `(message, fields)` for `console`, winston and the rest. A logger that throws is ignored
 * (logging never breaks the caller). For adapters that log through the pool's logger (`pool.logger`).
 *
 * @example
 * ```ts
 * if (pool.logger !== null) writeLog(pool.logger, 'warn', 'statement cache full', { pool: pool.name, size: 100 });
 * ```
 */
export function writeLog(logger: PoolLogger, level: LogLevel, message: string, fields: Record<string, unknown> = {}): void {
  let first = styles.get(logger);
  if (first === undefined) {
    first = fieldsFirst(logger);
    styles.set(logger, first);
  }
  try {
    if (first) logger[level](fields, message);
    else logger[level](message, fields);
  } catch {
    // A broken logger must not break the pool; there is nowhere left to report it.
  }
}

/** How often a repeated problem is logged again while it lasts. */
const REPEAT_MS = 10_000;

/** Reasons a connection is retired or evicted (logged at debug); `closed` (shutdown) is not logged. */
const LOGGED_REASONS = new Set<DestroyReason>([
  'idle',
  'lifetime',
  'usage',
  'errorRate',
  'validation',
  'reset',
  'replace',
  'broken',
  'evicted',
  'resize',
  'reclaimed',
  'limit',
  'destroyed',
]);

/** @internal The pool's side of its logger: what to log, at which level, how often. */
export class PoolLog {
  readonly logger: PoolLogger;
  readonly #pool: string;
  /** Creations failed since the last success (0: no streak). */
  #failures = 0;
  #streakStart = 0;
  #lastFailureLog = Number.NEGATIVE_INFINITY;
  #lastLoggedFatal = false;
  #suppressed = 0;
  readonly #reported = new Map<string, { at: number; suppressed: number }>();

  constructor(logger: PoolLogger, pool: string) {
    this.logger = logger;
    this.#pool = pool;
  }

  #write(level: LogLevel, message: string, fields: Record<string, unknown>): void {
    writeLog(this.logger, level, `[${this.#pool}] ${message}`, { pool: this.#pool, ...fields });
  }

  /**
   * A connect failed: warn (error when fatal) on the first of a streak, then at most every 10 s (at
   * once when the failures turn fatal), with how many were not logged.
   */
  createFailed(error: unknown, fatal: boolean, retryInMs: number): void {
    const t = now();
    if (this.#failures++ === 0) this.#streakStart = t;
    const escalates = fatal && !this.#lastLoggedFatal;
    if (this.#failures > 1 && !escalates && t - this.#lastFailureLog < REPEAT_MS) {
      this.#suppressed++;
      return;
    }
    const level: LogLevel = fatal ? 'error' : 'warn';
    const retry = `retrying in ${Math.round(retryInMs)} ms`;
    const what = fatal ? 'cannot open a connection, and retrying cannot fix the error' : 'cannot open a connection';
    const streak = this.#failures === 1 ? '' : ` (${this.#failures} failed attempts in ${Math.round(t - this.#streakStart)} ms)`;
    this.#write(level, `${what}${streak}: ${describeError(error)}; ${retry}`, {
      error,
      fatal,
      failures: this.#failures,
      suppressed: this.#suppressed,
      retryInMs: Math.round(retryInMs),
    });
    this.#lastFailureLog = t;
    this.#lastLoggedFatal = fatal;
    this.#suppressed = 0;
  }

  /** A connect succeeded: info when it ends a streak of failures. */
  createSucceeded(): void {
    if (this.#failures === 0) return;
    const downMs = Math.round(now() - this.#streakStart);
    this.#write('info', `connections open again after ${this.#failures} failed attempts over ${downMs} ms`, {
      failures: this.#failures,
      downMs,
    });
    this.#failures = 0;
    this.#suppressed = 0;
    this.#lastFailureLog = Number.NEGATIVE_INFINITY;
    this.#lastLoggedFatal = false;
  }

  /** A borrow was held past the leak threshold. */
  leak(connectionId: number, heldMs: number, stack: string | undefined, context: unknown): void {
    const where = stack === undefined ? '' : `; acquired at ${stack.split('\n').slice(1, 2).join('').trim()}`;
    this.#write('warn', `connection ${connectionId} has been borrowed for ${Math.round(heldMs)} ms (possible leak)${where}`, {
      connectionId,
      heldMs: Math.round(heldMs),
      stack,
      context,
    });
  }

  /** A connection left the pool (debug; shutdown closes are not logged). */
  destroyed(connectionId: number, reason: DestroyReason, ageMs: number, borrows: number, error: unknown): void {
    if (!LOGGED_REASONS.has(reason)) return;
    const why = error === undefined ? '' : `: ${describeError(error)}`;
    this.#write('debug', `closed connection ${connectionId} (${reason}) after ${Math.round(ageMs)} ms and ${borrows} borrows${why}`, {
      connectionId,
      reason,
      ageMs: Math.round(ageMs),
      borrows,
      error,
    });
  }

  /** A problem the pool contained: error, at most every 10 s per code. */
  reported(error: PoolError): void {
    const t = now();
    const last = this.#reported.get(error.code);
    if (last !== undefined && t - last.at < REPEAT_MS) {
      last.suppressed++;
      return;
    }
    const suppressed = last?.suppressed ?? 0;
    const more = suppressed === 0 ? '' : ` (${suppressed} more like it since the last report)`;
    this.#write('error', `${error.message}${more}`, { error, code: error.code, suppressed });
    this.#reported.set(error.code, { at: t, suppressed: 0 });
  }
}
