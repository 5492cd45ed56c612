import {
  type AcquireOptions,
  ConnectionPool,
  InvalidArgumentError,
  type PoolConfig,
  type PoolConfigOptions,
  type PooledConnection,
  type PoolOptions,
} from '@pool/core';
import { checkOptionKeys, DriverPool, poolLogger } from '@pool/core/adapter';
import type { RedisConnection } from './connection.js';
import { type RedisConfig, type RedisFactory, type RedisFactoryOptions, redisFactory } from './factory.js';

/** Options of {@link createRedisPool}: this adapter's factory options, plus `@pool/core`'s `poolConfig` and `poolOptions`. */
export interface RedisPoolOptions extends RedisFactoryOptions {
  /** `@pool/core` config (sizes, timeouts, validation...). Default: `@pool/core`'s defaults (`maxSize` 10). */
  poolConfig?: PoolConfig | PoolConfigOptions;
  /** `@pool/core` pool options (name, agingPolicy, recyclingStrategy, validator, waitQueue...). */
  poolOptions?: PoolOptions;
}

/** What a subscriber hears: the message, the channel it came on, and the pattern that matched (for `patterns`). */
export type RedisMessageListener = (message: string, channel: string, pattern?: string) => void;

/** What {@link RedisPool.subscribe} listens to. */
export interface RedisSubscribeOptions extends AcquireOptions {
  /** Channels (`SUBSCRIBE`). */
  channels?: readonly string[];
  /** Glob patterns (`PSUBSCRIBE`). */
  patterns?: readonly string[];
  /**
   * Called when `listener` throws. Without it the error is rethrown asynchronously, as an EventEmitter
   * listener's would be (an uncaught exception); either way it never reaches ioredis's reply parser.
   */
  onError?: (error: unknown) => void;
}

const POOL_KEYS = ['poolConfig', 'poolOptions', 'resetMode', 'validationCommand', 'onConnect', 'Redis', 'logger'];

/**
 * A subscriber holding one pooled connection (from {@link RedisPool.subscribe}). `close()` unsubscribes
 * (the pool's reset does it) and gives the connection back.
 */
export class RedisSubscription {
  /** The pool's handle of the subscribed connection. */
  readonly pooled: PooledConnection<RedisConnection>;
  readonly #detach: () => void;

  /** @internal Made by `RedisPool.subscribe()`. */
  constructor(pooled: PooledConnection<RedisConnection>, detach: () => void) {
    this.pooled = pooled;
    this.#detach = detach;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.pooled.released;
  }

  /** True when the subscribed connection broke (messages no longer arrive; close and subscribe again). */
  get broken(): boolean {
    return !this.pooled.released && this.pooled.connection.broken;
  }

  /** Stops listening and gives the connection back to the pool, which unsubscribes it before reuse. Idempotent. */
  async close(): Promise<void> {
    if (this.pooled.released) return;
    this.#detach();
    this.pooled.release();
  }

  /** `await using sub = await pool.subscribe(...)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * A pool of dedicated Redis connections on `@pool/core`'s engine: for blocking commands, `MULTI`/`WATCH`
 * transactions, subscribers and slow commands that must not hold up one shared client. `use(fn)` runs
 * `fn` with a connection of its own and always gives it back (also when `fn` throws: the error is
 * reported to the pool and rethrown); a connection left in `MULTI`, watching keys, subscribed or on
 * another database is reset before the next borrower gets it. `pool` is the underlying
 * `ConnectionPool` for everything else (events, statistics, `acquire`, `resize`...).
 *
 * @example
 * ```ts
 * const job = await redis.use(({ client }) => client.blpop('jobs', 5)); // blocks only this connection
 * ```
 */
export class RedisPool extends DriverPool<RedisConnection, RedisFactory> {
  /** @internal Use {@link createRedisPool}. */
  constructor(pool: ConnectionPool<RedisConnection>, factory: RedisFactory) {
    super('RedisPool', pool, factory);
  }

  /** Borrows a connection; give it back with `release()` (or `await using`). */
  acquire(options?: AcquireOptions): Promise<PooledConnection<RedisConnection>> {
    return this.pool.acquire(options);
  }

  /**
   * Subscribes a pooled connection to `channels` and/or `patterns` and calls `listener` for each
   * message, until the returned subscription is closed. The connection stays borrowed meanwhile (it
   * counts against `maxSize`). If it breaks (`CLIENT KILL`, server restart), messages stop:
   * `subscription.broken` turns true and the pool replaces the connection once the subscription is closed.
   */
  async subscribe(listener: RedisMessageListener, options: RedisSubscribeOptions): Promise<RedisSubscription> {
    if (typeof listener !== 'function')
      throw new InvalidArgumentError('listener', listener, 'must be a function (message, channel, pattern?)');
    if (typeof options !== 'object' || options === null)
      throw new InvalidArgumentError('options', options, 'must be { channels?, patterns? }');
    const { channels = [], patterns = [], onError, ...acquireOptions } = options;
    if (onError !== undefined && typeof onError !== 'function') throw new InvalidArgumentError('onError', onError, 'must be a function');
    for (const [name, list] of [
      ['channels', channels],
      ['patterns', patterns],
    ] as const) {
      if (!Array.isArray(list) || list.some((c) => typeof c !== 'string' || c === '')) {
        throw new InvalidArgumentError(name, list, 'must be an array of non-empty strings');
      }
    }
    if (channels.length + patterns.length === 0)
      throw new InvalidArgumentError('channels', channels, 'give at least one channel or pattern');
    const pooled = await this.pool.acquire(acquireOptions);
    const client = pooled.connection.client;
    const deliver = (message: string, channel: string, pattern?: string): void => {
      try {
        listener(message, channel, pattern);
      } catch (error) {
        if (onError !== undefined) onError(error);
        else
          process.nextTick(() => {
            throw error;
          });
      }
    };
    const onMessage = (channel: string, message: string): void => deliver(message, channel);
    const onPattern = (pattern: string, channel: string, message: string): void => deliver(message, channel, pattern);
    client.on('message', onMessage);
    client.on('pmessage', onPattern);
    const detach = (): void => {
      client.off('message', onMessage);
      client.off('pmessage', onPattern);
    };
    try {
      if (channels.length > 0) await client.subscribe(...channels);
      if (patterns.length > 0) await client.psubscribe(...patterns);
    } catch (error) {
      detach();
      pooled.release({ error });
      throw error;
    }
    return new RedisSubscription(pooled, detach);
  }
}

/**
 * Makes a pool of dedicated Redis connections. Nothing connects until first use; `minSize`
 * connections are then kept by background maintenance.
 *
 * @example
 * ```ts
 * const redis = createRedisPool('redis://127.0.0.1:6379', { poolConfig: { maxSize: 16 } });
 * const job = await redis.use(({ client }) => client.blpop('jobs', 5));
 * await redis.close();
 * ```
 */
export function createRedisPool(config: RedisConfig, options: RedisPoolOptions = {}): RedisPool {
  checkOptionKeys(options, POOL_KEYS, 'createRedisPool', '(ioredis options go in the first argument)');
  const { poolConfig = {}, poolOptions = {}, logger: given, ...rest } = options;
  // One logger for the engine and the adapter, given either way.
  const logger = poolLogger(given, typeof poolOptions === 'object' && poolOptions !== null ? poolOptions.logger : undefined);
  const factory = redisFactory(config, { ...rest, logger });
  return new RedisPool(ConnectionPool.open(poolConfig, factory, logger === null ? poolOptions : { ...poolOptions, logger }), factory);
}
