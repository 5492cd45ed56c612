import { AgingPolicy, InvalidConfigError, MAX_TIMER_MS, type PoolConfig, type PoolConfigOptions, type PoolOptions } from '@pool/core';
import { checkInteger, checkMilliseconds, checkOptionalFunction, optionConflict, PoolConfigMapping } from '@pool/core/adapter';
import type pg from 'pg';
import type { PgFactoryOptions } from './factory.js';
import type { PgMultiHostConfig } from './multi-host-config.js';

/** pg.Pool's `log` option: called with pg.Pool's debug messages (`'connecting new client'`, `'remove expended client'`...). */
export type PgPoolLog = (message: string, ...details: unknown[]) => void;

/** The `pg.Pool` options {@link createPgPool} understands, with pg.Pool's meaning. */
export interface PgPoolCompatOptions {
  /** Maximum connections (`maxSize`). Default 10, as pg.Pool. */
  max?: number;
  /** Connections kept open even when idle (`minSize`). Default 0. */
  min?: number;
  /** Close a connection idle this long (`idleTimeoutMs`), above `min`; `0` never. Default 10 000, as pg.Pool. */
  idleTimeoutMillis?: number;
  /** How long `query()` / `connect()` wait for a connection (`acquireTimeoutMs`), and a connect may take (`createTimeoutMs`); `0` waits without a limit. */
  connectionTimeoutMillis?: number;
  /** Retire a connection this many seconds after it opened (`maxLifetimeMs`); `0` never. */
  maxLifetimeSeconds?: number;
  /** Retire a connection after this many borrows (`AgingPolicy.UsageBased`); `Infinity` never. */
  maxUses?: number;
  /** pg's old name for `max`, still honoured. */
  poolSize?: number;
  /** Called with pg.Pool's debug messages. */
  log?: PgPoolLog;
  /** Runs on each new client before its first borrower gets it; `done(err)` with an error refuses the client (the borrower gets `err`). */
  verify?: (client: pg.Client, done: (err?: Error | null) => void) => void;
  /** The promise class `query()`, `connect()` and `end()` return (pg.Pool's `Promise`). Default the global `Promise`. */
  Promise?: PromiseConstructor;
  /**
   * Runs once on each new client, before its `'connect'` event and its first borrower (pg.Pool's
   * `onConnect`); it may return a promise, and a rejection refuses the client (the borrower gets the
   * error). Session settings it makes (`SET ...`) are made again after a reset clears the session.
   */
  onConnect?: (client: pg.Client) => unknown;
  /** The client class (pg.Pool's `Client`): a `pg.Client` subclass, an instrumented client... Default `pg.Client`. */
  Client?: new (
    config: pg.ClientConfig,
  ) => pg.Client;
}

/**
 * Options of {@link createPgPool}: a `pg.Pool` config as you have it (the `pg` client settings and the
 * pg.Pool options above), plus this adapter's factory options, plus, for anything else, `@pool/core`'s
 * `poolConfig` and `poolOptions`. Keys that are neither are handed to the `Client`, as pg.Pool does.
 */
export interface PgPoolOptions
  extends Omit<pg.ClientConfig, 'connectionTimeoutMillis'>,
    Pick<PgMultiHostConfig, 'hosts' | 'targetSessionAttrs' | 'loadBalanceHosts'>,
    PgPoolCompatOptions,
    Omit<PgFactoryOptions, 'onConnect' | 'Client'> {
  /** `@pool/core` config (sizes, timeouts, validation...). A field also set through a pg.Pool option is an error. */
  poolConfig?: PoolConfig | PoolConfigOptions;
  /** `@pool/core` pool options (name, agingPolicy, recyclingStrategy, validator, waitQueue...). */
  poolOptions?: PoolOptions;
}

/** @internal The pg.Pool behaviour options the facade itself implements. */
export interface PgPoolBehaviour {
  log: PgPoolLog | null;
  verify: NonNullable<PgPoolCompatOptions['verify']> | null;
  Promise: PromiseConstructor;
  onConnect: ((client: pg.Client) => unknown) | null;
  maxUses: number;
}

const COMPAT_KEYS = ['max', 'poolSize', 'min', 'idleTimeoutMillis', 'connectionTimeoutMillis', 'maxLifetimeSeconds', 'maxUses'] as const;
const BEHAVIOUR_KEYS = ['log', 'verify', 'Promise', 'onConnect'] as const;
const FACTORY_KEYS = ['statementCacheSize', 'resetMode', 'validationQuery', 'allowExitOnIdle', 'Client', 'logger'] as const;
/** pg.Pool's default `idleTimeoutMillis`. */
const PG_IDLE_TIMEOUT_MS = 10_000;

/** @internal Splits `createPgPool` options into the client config, factory options, pool config, pool options and the facade's own. */
export function mapPgPoolOptions(options: PgPoolOptions): {
  client: pg.ClientConfig;
  factory: PgFactoryOptions;
  config: PoolConfig;
  poolOptions: PoolOptions;
  behaviour: PgPoolBehaviour;
} {
  const mapping = new PoolConfigMapping(options, 'must be an object (a pg.Pool config)');
  const given = mapping.rest;
  const log = checkOptionalFunction('log', given.log as ((...args: never[]) => unknown) | undefined) as PgPoolLog | null;
  const verify = checkOptionalFunction('verify', given.verify as ((...args: never[]) => unknown) | undefined) as PgPoolBehaviour['verify'];
  const onConnect = checkOptionalFunction(
    'onConnect',
    given.onConnect as ((...args: never[]) => unknown) | undefined,
  ) as PgPoolBehaviour['onConnect'];
  const PromiseClass = (checkOptionalFunction('Promise', given.Promise as ((...args: never[]) => unknown) | undefined) ??
    Promise) as PromiseConstructor;
  if (given.max !== undefined) mapping.set('max', 'maxSize', checkInteger('max', given.max, 1));
  if (given.poolSize !== undefined) {
    // pg's old name for max: honoured rather than passed to the client and silently ignored.
    const size = checkInteger('poolSize', given.poolSize, 1);
    if (given.max !== undefined && given.max !== size) throw optionConflict('poolSize', size, `max (${String(given.max)})`);
    mapping.set('poolSize', 'maxSize', size);
  }
  if (given.min !== undefined) mapping.set('min', 'minSize', checkInteger('min', given.min, 0));
  const idleMs = given.idleTimeoutMillis === undefined ? undefined : checkMilliseconds('idleTimeoutMillis', given.idleTimeoutMillis);
  if (idleMs !== undefined) mapping.set('idleTimeoutMillis', 'idleTimeoutMs', idleMs === 0 ? null : idleMs);
  else if (!mapping.given('idleTimeoutMs')) mapping.setUnlessGiven('idleTimeoutMs', PG_IDLE_TIMEOUT_MS);
  const idleTimeout = mapping.get('idleTimeoutMs');
  if (typeof idleTimeout === 'number') mapping.maintainFor(idleTimeout);
  if (given.connectionTimeoutMillis !== undefined) {
    const ms = checkMilliseconds('connectionTimeoutMillis', given.connectionTimeoutMillis);
    mapping.set('connectionTimeoutMillis', 'acquireTimeoutMs', ms === 0 ? MAX_TIMER_MS : ms);
    if (ms > 0) mapping.setUnlessGiven('createTimeoutMs', ms);
  }
  if (given.maxLifetimeSeconds !== undefined) {
    const s = given.maxLifetimeSeconds;
    if (typeof s !== 'number' || !Number.isFinite(s) || s < 0 || s * 1000 > MAX_TIMER_MS) {
      throw new InvalidConfigError('maxLifetimeSeconds', s, `must be a number of seconds between 0 and ${Math.floor(MAX_TIMER_MS / 1000)}`);
    }
    mapping.set('maxLifetimeSeconds', 'maxLifetimeMs', s === 0 ? null : s * 1000);
  }
  let maxUses = Number.POSITIVE_INFINITY;
  if (given.maxUses !== undefined && given.maxUses !== Number.POSITIVE_INFINITY) {
    maxUses = checkInteger('maxUses', given.maxUses, 1);
    mapping.setOption(
      'maxUses',
      'agingPolicy',
      AgingPolicy.UsageBased({ maxBorrows: maxUses }),
      'use AgingPolicy.UsageBased / Combined there instead',
    );
  }
  // As pg.Pool: every request after a failed connect tries again at once (one connect at a time while they fail).
  mapping.setUnlessGiven('createRetryDelayMs', 0);
  mapping.take(COMPAT_KEYS);
  mapping.take(BEHAVIOUR_KEYS);
  const factory = mapping.take(FACTORY_KEYS) as PgFactoryOptions;
  if (factory.statementCacheSize !== undefined) mapping.set('statementCacheSize', 'statementCacheSize', factory.statementCacheSize);
  const config = mapping.build();
  factory.statementCacheSize = config.statementCacheSize;
  return {
    client: mapping.rest as pg.ClientConfig,
    factory,
    config,
    poolOptions: mapping.poolOptions,
    behaviour: { log, verify, Promise: PromiseClass, onConnect, maxUses },
  };
}
