import { InvalidConfigError, type LogLevel, type PoolLogger, writeLog } from '@pool/core';
import { optionConflict } from './options.js';

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** How an adapter's connections write to its logger: `(level, message, fields)`; a no-op without a logger. */
export type AdapterLog = (level: LogLevel, message: string, fields: Record<string, unknown>) => void;

/**
 * Returns `logger` when it is `null`/`undefined` (as `null`) or an object with `debug`, `info`, `warn`
 * and `error` methods (`console`, pino, winston, bunyan...); otherwise throws `InvalidConfigError`
 * naming `field`.
 *
 * @example
 * ```ts
 * const logger = checkOptionalLogger('logger', options.logger);
 * ```
 */
export function checkOptionalLogger(field: string, logger: unknown): PoolLogger | null {
  if (logger === undefined || logger === null) return null;
  if (typeof logger !== 'object' || LOG_LEVELS.some((level) => typeof (logger as Record<string, unknown>)[level] !== 'function')) {
    throw new InvalidConfigError(
      field,
      logger,
      'must be an object with debug, info, warn and error methods (console, pino, winston, bunyan...)',
    );
  }
  return logger as PoolLogger;
}

/**
 * Makes an adapter's log function: writes to `logger` through {@link writeLog} with `fields` (e.g.
 * `{ server }`) added to every line; a no-op when `logger` is `null`.
 *
 * @example
 * ```ts
 * const log = adapterLog(logger, { server: 'postgres://app@db:5432/app' });
 * log('warn', 'connection cut by the server', { pid: 4242 });
 * ```
 */
export function adapterLog(logger: PoolLogger | null, fields: Record<string, unknown>): AdapterLog {
  if (logger === null) return () => {};
  return (level, message, more) => writeLog(logger, level, message, { ...fields, ...more });
}

/**
 * The one logger of a `createXxxPool(options)` call, given either as the adapter's `logger` option or
 * as `poolOptions.logger`: both mean the same logger, for the engine and the adapter. Throws
 * `InvalidConfigError` when the two are different loggers, or when the one given is not a logger.
 *
 * @example
 * ```ts
 * const logger = poolLogger(options.logger, options.poolOptions?.logger);
 * const factory = fooFactory(config, { logger });
 * const pool = ConnectionPool.open(poolConfig, factory, logger === null ? poolOptions : { ...poolOptions, logger });
 * ```
 */
export function poolLogger(given: unknown, fromPoolOptions: unknown): PoolLogger | null {
  if (given != null && fromPoolOptions != null && given !== fromPoolOptions) {
    throw optionConflict('logger', given, 'poolOptions.logger', 'give one logger: the pool and the adapter both log to it');
  }
  return checkOptionalLogger('logger', given ?? fromPoolOptions);
}
