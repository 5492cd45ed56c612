import {
  type ConnectionFactory,
  ConnectionPool,
  type CreateContext,
  InvalidConfigError,
  type PoolConfigOptions,
  RecyclingStrategy,
} from '@pool/core';
import { checkOptionKeys } from '@pool/core/adapter';
import { expect, type Mock, vi } from 'vitest';
import { expectNoSecret } from './adapter-test-helpers.js';
import { FaultProxy, type FaultProxyAddress } from './fault-proxy.js';

/** What a factory can do; each flag turns a group of conformance tests on or off. */
export interface AdapterCapabilities {
  /** `factory.validate` exists and reports a dead connection as unusable. Default `true`. */
  validate?: boolean;
  /** `factory.reset` exists and clears session state and open transactions. Default `true`. */
  reset?: boolean;
  /** `factory.isDirty` reports changed session state and open transactions. Default `false`. */
  dirtyTracking?: boolean;
  /** `create` honours its `signal` (an aborted signal rejects it, also mid-connect). Default `true`. */
  abortCreate?: boolean;
  /** An idle connection that dies (killed, network cut) is reported through `ctx.markBroken`. Default `true`. */
  idleErrorDetection?: boolean;
  /** `factory.statistics` exists. Default `false`. */
  statistics?: boolean;
}

/** How the conformance suite reaches a server through a {@link FaultProxy} (for network-fault tests). */
export interface AdapterProxyOptions<C> {
  /** The real server the proxy forwards to, as `{ host, port }` or `'host:port'`. */
  target: FaultProxyAddress | string;
  /** Makes a factory that connects to `address` (the proxy) instead of the server. */
  factory: (address: FaultProxyAddress) => ConnectionFactory<C> | Promise<ConnectionFactory<C>>;
}

/** Options of `testAdapter` (see its documentation for what each enables). */
export interface AdapterTestOptions<C> {
  /** The adapter's name: the title of the `describe` block. */
  name: string;
  /** The factory under test, or a function making one (called once per test, so state never leaks between tests). */
  factory: ConnectionFactory<C> | (() => ConnectionFactory<C> | Promise<ConnectionFactory<C>>);
  /** Runs a trivial round trip on `conn` (`SELECT 1`, `PING`); must reject when the connection is unusable. */
  ping: (conn: C) => Promise<unknown>;
  /** Kills `conn` from the server side (`pg_terminate_backend`, `KILL`, `CLIENT KILL`), through another connection. */
  killConnection?: (conn: C) => Promise<void>;
  /** Changes some session state on `conn` (a setting, a session variable, a selected database). */
  setSessionState?: (conn: C) => Promise<void>;
  /** Reads that state back, as any value `toEqual` can compare; it must differ after `setSessionState`. */
  readSessionState?: (conn: C) => Promise<unknown>;
  /** Opens a transaction on `conn` (`BEGIN`, `MULTI`). */
  beginTransaction?: (conn: C) => Promise<void>;
  /** Whether a transaction is open on `conn` (ask the server where it can tell). */
  inTransaction?: (conn: C) => Promise<boolean>;
  /** A validation query that succeeds and one that fails (for `ValidateContext.query`). */
  validationQueries?: { valid: string; invalid: string };
  /** Lets the suite put a {@link FaultProxy} in front of the server (latency, stalls, resets). */
  proxy?: AdapterProxyOptions<C>;
  /** Makes a factory whose `create` fails at once (nothing listens there, or wrong credentials). */
  unreachableFactory?: () => ConnectionFactory<C> | Promise<ConnectionFactory<C>>;
  /** A secret the factories hold (a password): it must never appear in errors, `toString`, `inspect` or statistics. */
  secret?: string;
  /** What the factory can do. */
  capabilities?: AdapterCapabilities;
  /** Overrides for the pools the pool-level tests make (sizes and timeouts are chosen by each test). */
  poolConfig?: PoolConfigOptions;
  /** How long to wait for something asynchronous (a kill noticed, a pool healed). Default `10000`. */
  detectionTimeoutMs?: number;
  /** Timeout of each test. Default `30000`. */
  testTimeoutMs?: number;
  /** Registers more tests in the same `describe` block; they get the same per-test harness. */
  additionalTests?: (ctx: AdapterTestContext<C>) => void;
}

/** A connection opened by the harness, with the spy given to `create` as `markBroken`. */
export interface OpenedConnection<C> {
  conn: C;
  markBroken: Mock<(error?: unknown) => void>;
  factory: ConnectionFactory<C>;
}

/**
 * The per-test harness given to `additionalTests`: everything it opens is closed after the test, also
 * when an assertion fails.
 */
export interface AdapterTestContext<C> {
  /** The options given to `testAdapter`, with capability defaults filled in. */
  readonly options: ResolvedOptions<C>;
  /** The factory of the current test (made fresh for each test when `factory` is a function). */
  factory(): Promise<ConnectionFactory<C>>;
  /** Opens a connection with `factory.create` (a live signal and a `markBroken` spy). */
  open(factory?: ConnectionFactory<C>): Promise<OpenedConnection<C>>;
  /** Closes a connection opened with `open` (it is then not closed again after the test). */
  close(opened: OpenedConnection<C>): Promise<void>;
  /** Makes a pool over `factory` (default: the test's factory) with `config` on top of `options.poolConfig`. */
  pool(config?: PoolConfigOptions, factory?: ConnectionFactory<C>): Promise<ConnectionPool<C>>;
  /** Starts a {@link FaultProxy} in front of `options.proxy.target` and makes a factory that goes through it. */
  proxied(): Promise<{ proxy: FaultProxy; factory: ConnectionFactory<C> }>;
  /** Polls `fn` until it stops throwing, up to `detectionTimeoutMs`. */
  eventually<T>(fn: () => T | Promise<T>): Promise<T>;
}

/** @internal */
export type ResolvedOptions<C> = AdapterTestOptions<C> & {
  capabilities: Required<AdapterCapabilities>;
  detectionTimeoutMs: number;
  testTimeoutMs: number;
};

const OPTION_KEYS = [
  'name',
  'factory',
  'ping',
  'killConnection',
  'setSessionState',
  'readSessionState',
  'beginTransaction',
  'inTransaction',
  'validationQueries',
  'proxy',
  'unreachableFactory',
  'secret',
  'capabilities',
  'poolConfig',
  'detectionTimeoutMs',
  'testTimeoutMs',
  'additionalTests',
];
const CAPABILITY_KEYS = ['validate', 'reset', 'dirtyTracking', 'abortCreate', 'idleErrorDetection', 'statistics'];

/** @internal Validates the options of `testAdapter` and fills in defaults. */
export function resolveOptions<C>(options: AdapterTestOptions<C>): ResolvedOptions<C> {
  checkOptionKeys(options, OPTION_KEYS, 'testAdapter');
  if (typeof options.name !== 'string' || options.name === '')
    throw new InvalidConfigError('name', options.name, 'must be a non-empty string');
  const f = options.factory as unknown;
  if (typeof f !== 'function' && (typeof f !== 'object' || f === null)) {
    throw new InvalidConfigError('factory', f, 'must be a ConnectionFactory or a function returning one');
  }
  if (typeof options.ping !== 'function') throw new InvalidConfigError('ping', options.ping, 'must be a function (conn) => Promise');
  for (const key of [
    'killConnection',
    'setSessionState',
    'readSessionState',
    'beginTransaction',
    'inTransaction',
    'unreachableFactory',
    'additionalTests',
  ] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'function')
      throw new InvalidConfigError(key, options[key], 'must be a function');
  }
  if ((options.setSessionState === undefined) !== (options.readSessionState === undefined)) {
    throw new InvalidConfigError('setSessionState', options.setSessionState, 'and readSessionState must be given together');
  }
  if ((options.beginTransaction === undefined) !== (options.inTransaction === undefined)) {
    throw new InvalidConfigError('beginTransaction', options.beginTransaction, 'and inTransaction must be given together');
  }
  const q = options.validationQueries;
  if (q !== undefined && (typeof q !== 'object' || q === null || typeof q.valid !== 'string' || typeof q.invalid !== 'string')) {
    throw new InvalidConfigError('validationQueries', q, 'must be { valid: string, invalid: string }');
  }
  const p = options.proxy;
  if (p !== undefined && (typeof p !== 'object' || p === null || typeof p.factory !== 'function' || p.target === undefined)) {
    throw new InvalidConfigError('proxy', p, 'must be { target, factory(address) }');
  }
  if (options.secret !== undefined && (typeof options.secret !== 'string' || options.secret.length < 4)) {
    throw new InvalidConfigError('secret', '[hidden]', 'must be a string of at least 4 characters (a shorter one would match by chance)');
  }
  const caps = options.capabilities ?? {};
  if (typeof caps !== 'object' || caps === null) throw new InvalidConfigError('capabilities', caps, 'must be an object');
  for (const [key, value] of Object.entries(caps)) {
    if (!CAPABILITY_KEYS.includes(key))
      throw new InvalidConfigError(`capabilities.${key}`, value, `is not a capability; known: ${CAPABILITY_KEYS.join(', ')}`);
    if (typeof value !== 'boolean') throw new InvalidConfigError(`capabilities.${key}`, value, 'must be true or false');
  }
  const positive = (key: 'detectionTimeoutMs' | 'testTimeoutMs', fallback: number): number => {
    const v = options[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
      throw new InvalidConfigError(key, v, 'must be a number of milliseconds > 0');
    return v;
  };
  return {
    ...options,
    capabilities: {
      validate: caps.validate ?? true,
      reset: caps.reset ?? true,
      dirtyTracking: caps.dirtyTracking ?? false,
      abortCreate: caps.abortCreate ?? true,
      idleErrorDetection: caps.idleErrorDetection ?? true,
      statistics: caps.statistics ?? false,
    },
    detectionTimeoutMs: positive('detectionTimeoutMs', 10_000),
    testTimeoutMs: positive('testTimeoutMs', 30_000),
  };
}

/** @internal The harness behind {@link AdapterTestContext}; `dispose()` cleans up after a test. */
export class Harness<C> implements AdapterTestContext<C> {
  readonly options: ResolvedOptions<C>;
  #factory: ConnectionFactory<C> | undefined;
  readonly #opened = new Set<OpenedConnection<C>>();
  readonly #pools = new Set<ConnectionPool<C>>();
  readonly #proxies = new Set<FaultProxy>();

  constructor(options: ResolvedOptions<C>) {
    this.options = options;
  }

  async factory(): Promise<ConnectionFactory<C>> {
    if (this.#factory === undefined) {
      const f = this.options.factory;
      this.#factory = typeof f === 'function' ? await f() : f;
    }
    return this.#factory;
  }

  async open(factory?: ConnectionFactory<C>): Promise<OpenedConnection<C>> {
    const f = factory ?? (await this.factory());
    const markBroken = vi.fn<(error?: unknown) => void>();
    const ctx: CreateContext = { signal: new AbortController().signal, markBroken };
    const conn = await f.create(ctx);
    const opened = { conn, markBroken, factory: f };
    this.#opened.add(opened);
    return opened;
  }

  async close(opened: OpenedConnection<C>): Promise<void> {
    this.#opened.delete(opened);
    await opened.factory.close(opened.conn, { signal: AbortSignal.timeout(this.options.detectionTimeoutMs) });
  }

  async pool(config: PoolConfigOptions = {}, factory?: ConnectionFactory<C>): Promise<ConnectionPool<C>> {
    const f = factory ?? (await this.factory());
    const pool = await ConnectionPool.create({ ...this.options.poolConfig, ...config }, f, {
      recyclingStrategy: this.options.capabilities.dirtyTracking ? RecyclingStrategy.Adaptive : RecyclingStrategy.Checked,
    });
    pool.on('error', () => {}); // contained problems (a failing close after a kill) are expected here
    this.#pools.add(pool);
    return pool;
  }

  async proxied(): Promise<{ proxy: FaultProxy; factory: ConnectionFactory<C> }> {
    const p = this.options.proxy;
    if (p === undefined) throw new Error('proxied() needs the proxy option');
    const proxy = await FaultProxy.start({ target: p.target });
    this.#proxies.add(proxy);
    const factory = await p.factory({ host: proxy.host, port: proxy.port });
    return { proxy, factory };
  }

  eventually<T>(fn: () => T | Promise<T>): Promise<T> {
    return vi.waitFor(fn, { timeout: this.options.detectionTimeoutMs, interval: 20 });
  }

  async dispose(): Promise<void> {
    const pools = [...this.#pools];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.close()));
    const opened = [...this.#opened];
    this.#opened.clear();
    await Promise.all(opened.map((o) => o.factory.close(o.conn, { signal: AbortSignal.timeout(5_000) }).catch(() => {})));
    const proxies = [...this.#proxies];
    this.#proxies.clear();
    await Promise.all(proxies.map((p) => p.close()));
  }
}

/** @internal One conformance test: a name, when it applies, and its body. */
export interface Check {
  readonly name: string;
  readonly applies: (o: ResolvedOptions<unknown>) => boolean;
  readonly run: (h: Harness<unknown>) => Promise<void>;
}

/** Settles to 'rejected', or to the value, so a test can accept "returns false or throws". */
async function outcome<T>(p: Promise<T>): Promise<T | 'rejected'> {
  try {
    return await p;
  } catch {
    return 'rejected';
  }
}

function has(o: ResolvedOptions<unknown>, ...keys: (keyof AdapterTestOptions<unknown>)[]): boolean {
  return keys.every((k) => o[k] !== undefined);
}

const FAST_POOL: PoolConfigOptions = {
  acquireTimeoutMs: 5_000,
  createTimeoutMs: 5_000,
  createRetryDelayMs: 20,
  createRetryMaxDelayMs: 200,
  closeTimeoutMs: 2_000,
  maintenanceIntervalMs: 100,
};

/** @internal Every conformance test, in the order `testAdapter` registers them. */
export const CHECKS: readonly Check[] = [
  // ------------------------------------------------------------------ create / close
  {
    name: 'create opens a connection that answers a round trip',
    applies: () => true,
    async run(h) {
      const { conn } = await h.open();
      await h.options.ping(conn);
    },
  },
  {
    name: 'close ends the connection, so it no longer answers',
    applies: () => true,
    async run(h) {
      const opened = await h.open();
      await h.close(opened);
      expect(await outcome(h.options.ping(opened.conn))).toBe('rejected');
    },
  },
  {
    name: 'create rejects when its signal is already aborted',
    applies: (o) => o.capabilities.abortCreate,
    async run(h) {
      const factory = await h.factory();
      const reason = new Error('given up');
      const created = factory.create({ signal: AbortSignal.abort(reason), markBroken: () => {} });
      const result = await outcome(created);
      if (result !== 'rejected') await factory.close(result, { signal: AbortSignal.timeout(5_000) }).catch(() => {});
      expect(result).toBe('rejected');
    },
  },
  {
    name: 'create gives up a connect the network stalls when its signal aborts',
    applies: (o) => o.capabilities.abortCreate && has(o, 'proxy'),
    async run(h) {
      const { proxy, factory } = await h.proxied();
      proxy.stall();
      const controller = new AbortController();
      const created = outcome(factory.create({ signal: controller.signal, markBroken: () => {} }));
      await h.eventually(() => expect(proxy.statistics().accepted).toBe(1));
      controller.abort(new Error('connect took too long'));
      expect(await created).toBe('rejected');
      await h.eventually(() => expect(proxy.connections).toBe(0));
    },
  },
  {
    name: 'create rejects when the server cannot be reached, and classifies that as transient',
    applies: (o) => has(o, 'unreachableFactory'),
    async run(h) {
      const factory = await (h.options.unreachableFactory as () => Promise<ConnectionFactory<unknown>>)();
      let error: unknown;
      try {
        const conn = await factory.create({ signal: AbortSignal.timeout(h.options.detectionTimeoutMs), markBroken: () => {} });
        await factory.close(conn, { signal: AbortSignal.timeout(5_000) });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(Error);
      if (h.options.secret !== undefined) expectNoSecret(h.options.secret, error);
      // A server that cannot be reached may be back soon: retrying can fix it, so it is never fatal.
      if (typeof factory.classifyCreateError === 'function') expect(factory.classifyCreateError(error)).toBe('transient');
    },
  },
  // ------------------------------------------------------------------ validate
  {
    name: 'validate resolves true for a healthy connection',
    applies: (o) => o.capabilities.validate,
    async run(h) {
      const { conn, factory } = await h.open();
      expect(factory.validate).toBeTypeOf('function');
      expect(await factory.validate?.(conn, { signal: AbortSignal.timeout(h.options.detectionTimeoutMs) })).toBe(true);
    },
  },
  {
    name: "validate runs the validator's query and fails when that query fails",
    applies: (o) => o.capabilities.validate && has(o, 'validationQueries'),
    async run(h) {
      const { conn, factory } = await h.open();
      const queries = h.options.validationQueries as { valid: string; invalid: string };
      const signal = AbortSignal.timeout(h.options.detectionTimeoutMs);
      expect(await factory.validate?.(conn, { signal, query: queries.valid })).toBe(true);
      expect(await outcome(factory.validate?.(conn, { signal, query: queries.invalid }) as Promise<boolean>)).not.toBe(true);
    },
  },
  {
    name: 'validate gives up when its signal aborts while the server does not answer',
    applies: (o) => o.capabilities.validate && has(o, 'proxy'),
    async run(h) {
      const { proxy, factory } = await h.proxied();
      const { conn } = await h.open(factory);
      proxy.stall();
      const result = await outcome(factory.validate?.(conn, { signal: AbortSignal.timeout(300) }) as Promise<boolean>);
      expect(result).not.toBe(true);
    },
  },
  {
    name: 'validate reports a connection killed by the server as unusable',
    applies: (o) => o.capabilities.validate && has(o, 'killConnection'),
    async run(h) {
      const { conn, factory } = await h.open();
      await h.options.killConnection?.(conn);
      await h.eventually(async () => {
        const result = await outcome(factory.validate?.(conn, { signal: AbortSignal.timeout(2_000) }) as Promise<boolean>);
        expect(result).not.toBe(true);
      });
    },
  },
  {
    name: 'validate reports a connection cut by the network as unusable',
    applies: (o) => o.capabilities.validate && has(o, 'proxy'),
    async run(h) {
      const { proxy, factory } = await h.proxied();
      const { conn } = await h.open(factory);
      expect(proxy.killAll()).toBe(1);
      await h.eventually(async () => {
        const result = await outcome(factory.validate?.(conn, { signal: AbortSignal.timeout(2_000) }) as Promise<boolean>);
        expect(result).not.toBe(true);
      });
    },
  },
  // ------------------------------------------------------------------ markBroken
  {
    name: 'reports an idle connection killed by the server through markBroken',
    applies: (o) => o.capabilities.idleErrorDetection && has(o, 'killConnection'),
    async run(h) {
      const { conn, markBroken } = await h.open();
      expect(markBroken).not.toHaveBeenCalled();
      await h.options.killConnection?.(conn);
      await h.eventually(() => expect(markBroken).toHaveBeenCalled());
    },
  },
  {
    name: 'reports an idle connection cut by the network through markBroken',
    applies: (o) => o.capabilities.idleErrorDetection && has(o, 'proxy'),
    async run(h) {
      const { proxy, factory } = await h.proxied();
      const { markBroken } = await h.open(factory);
      proxy.killAll();
      await h.eventually(() => expect(markBroken).toHaveBeenCalled());
    },
  },
  // ------------------------------------------------------------------ reset and dirty state
  {
    name: 'reset restores the session state a borrower changed',
    applies: (o) => o.capabilities.reset && has(o, 'setSessionState'),
    async run(h) {
      const { conn, factory } = await h.open();
      const o = h.options;
      const baseline = await o.readSessionState?.(conn);
      await o.setSessionState?.(conn);
      expect(await o.readSessionState?.(conn)).not.toEqual(baseline);
      expect(factory.reset).toBeTypeOf('function');
      await factory.reset?.(conn, { signal: AbortSignal.timeout(o.detectionTimeoutMs) });
      expect(await o.readSessionState?.(conn)).toEqual(baseline);
      await o.ping(conn);
    },
  },
  {
    name: 'reset rolls back an open transaction',
    applies: (o) => o.capabilities.reset && has(o, 'beginTransaction'),
    async run(h) {
      const { conn, factory } = await h.open();
      const o = h.options;
      expect(await o.inTransaction?.(conn)).toBe(false);
      await o.beginTransaction?.(conn);
      expect(await o.inTransaction?.(conn)).toBe(true);
      await factory.reset?.(conn, { signal: AbortSignal.timeout(o.detectionTimeoutMs) });
      expect(await o.inTransaction?.(conn)).toBe(false);
      await o.ping(conn);
    },
  },
  {
    name: 'reset rejects on a connection killed by the server, so the pool discards it',
    applies: (o) => o.capabilities.reset && has(o, 'killConnection'),
    async run(h) {
      const { conn, factory } = await h.open();
      await h.options.killConnection?.(conn);
      await h.eventually(async () => {
        expect(await outcome(h.options.ping(conn))).toBe('rejected');
      });
      expect(await outcome(factory.reset?.(conn, { signal: AbortSignal.timeout(5_000) }) as Promise<void>)).toBe('rejected');
    },
  },
  {
    name: 'isDirty tracks session state: clean when fresh, dirty after a change, clean after reset',
    applies: (o) => o.capabilities.dirtyTracking && has(o, 'setSessionState'),
    async run(h) {
      const { conn, factory } = await h.open();
      expect(factory.isDirty).toBeTypeOf('function');
      const isDirty = (): boolean | undefined => factory.isDirty?.(conn);
      expect(isDirty()).toBe(false);
      await h.options.ping(conn);
      expect(isDirty()).toBe(false);
      await h.options.setSessionState?.(conn);
      expect(isDirty()).toBe(true);
      await factory.reset?.(conn, { signal: AbortSignal.timeout(h.options.detectionTimeoutMs) });
      expect(isDirty()).toBe(false);
    },
  },
  {
    name: 'isDirty reports an open transaction',
    applies: (o) => o.capabilities.dirtyTracking && has(o, 'beginTransaction'),
    async run(h) {
      const { conn, factory } = await h.open();
      expect(factory.isDirty?.(conn)).toBe(false);
      await h.options.beginTransaction?.(conn);
      expect(factory.isDirty?.(conn)).toBe(true);
      await factory.reset?.(conn, { signal: AbortSignal.timeout(h.options.detectionTimeoutMs) });
      expect(factory.isDirty?.(conn)).toBe(false);
    },
  },
  // ------------------------------------------------------------------ close on broken connections
  {
    name: 'close is safe on a connection killed by the server',
    applies: (o) => has(o, 'killConnection'),
    async run(h) {
      const opened = await h.open();
      await h.options.killConnection?.(opened.conn);
      await h.eventually(async () => {
        expect(await outcome(h.options.ping(opened.conn))).toBe('rejected');
      });
      await h.close(opened);
    },
  },
  {
    name: 'close is safe on a connection cut by the network',
    applies: (o) => has(o, 'proxy'),
    async run(h) {
      const { proxy, factory } = await h.proxied();
      const opened = await h.open(factory);
      proxy.killAll();
      await h.eventually(async () => {
        expect(await outcome(h.options.ping(opened.conn))).toBe('rejected');
      });
      await h.close(opened);
    },
  },
  {
    name: 'close settles on a connection whose server stopped answering',
    applies: (o) => has(o, 'proxy'),
    async run(h) {
      const { proxy, factory } = await h.proxied();
      const opened = await h.open(factory);
      proxy.stall();
      // Settling (either way) once the signal aborts is what matters: the pool must not wait forever.
      await outcome(opened.factory.close(opened.conn, { signal: AbortSignal.timeout(500) }));
      proxy.forward();
    },
  },
  // ------------------------------------------------------------------ with a pool
  {
    name: 'a pool serves concurrent borrowers and close() closes every connection',
    applies: () => true,
    async run(h) {
      const pool = await h.pool({ ...FAST_POOL, minSize: 1, maxSize: 3 });
      const seen = new Set<unknown>();
      await Promise.all(
        Array.from({ length: 12 }, () =>
          pool.use(async (conn) => {
            seen.add(conn);
            await h.options.ping(conn);
          }),
        ),
      );
      expect(seen.size).toBeGreaterThanOrEqual(1);
      expect(seen.size).toBeLessThanOrEqual(3);
      expect(pool.statistics().acquired).toBe(12);
      await pool.close();
      expect(pool.size().total).toBe(0);
      for (const conn of seen) expect(await outcome(h.options.ping(conn))).toBe('rejected');
    },
  },
  {
    name: 'a pool resets session state between borrowers',
    applies: (o) => o.capabilities.reset && has(o, 'setSessionState'),
    async run(h) {
      const pool = await h.pool({ ...FAST_POOL, minSize: 1, maxSize: 1 });
      const o = h.options;
      const first = await pool.acquire();
      const raw = first.connection;
      const baseline = await o.readSessionState?.(raw);
      await o.setSessionState?.(raw);
      first.release();
      const second = await pool.acquire();
      expect(second.connection).toBe(raw);
      expect(await o.readSessionState?.(second.connection)).toEqual(baseline);
      second.release();
    },
  },
  {
    name: 'a pool replaces a connection killed while idle',
    applies: (o) => has(o, 'killConnection') && (o.capabilities.validate || o.capabilities.idleErrorDetection),
    async run(h) {
      const validateOnAcquire = h.options.capabilities.validate;
      const pool = await h.pool({ ...FAST_POOL, minSize: 1, maxSize: 1, validateOnAcquire });
      const first = await pool.acquire();
      const victim = first.connection;
      first.release();
      await h.options.killConnection?.(victim);
      await h.eventually(async () => {
        await pool.use(async (conn) => {
          expect(conn).not.toBe(victim);
          await h.options.ping(conn);
        });
      });
      expect(pool.statistics().connectionsDestroyed).toBeGreaterThanOrEqual(1);
    },
  },
  {
    name: 'a borrowed connection killed by the server fails its caller, and the pool heals',
    applies: (o) => has(o, 'killConnection') && (o.capabilities.validate || o.capabilities.idleErrorDetection),
    async run(h) {
      const validateOnAcquire = h.options.capabilities.validate;
      const pool = await h.pool({ ...FAST_POOL, minSize: 1, maxSize: 1, validateOnAcquire });
      let victim: unknown;
      const failed = pool.use(async (conn) => {
        victim = conn;
        await h.options.killConnection?.(conn);
        await h.eventually(() =>
          h.options.ping(conn).then(
            () => Promise.reject(new Error('still answering')),
            () => undefined,
          ),
        );
        await h.options.ping(conn);
      });
      await expect(failed).rejects.toBeInstanceOf(Error);
      expect(pool.statistics().releasedWithError).toBe(1);
      await pool.use(async (conn) => {
        expect(conn).not.toBe(victim);
        await h.options.ping(conn);
      });
    },
  },
  {
    name: 'a pool recovers after the network cut every connection and the server was down for a while',
    applies: (o) => has(o, 'proxy') && (o.capabilities.validate || o.capabilities.idleErrorDetection),
    async run(h) {
      const { proxy, factory } = await h.proxied();
      const validateOnAcquire = h.options.capabilities.validate;
      const pool = await h.pool({ ...FAST_POOL, minSize: 2, maxSize: 2, validateOnAcquire, acquireTimeoutMs: 1_000 }, factory);
      await Promise.all([pool.use(h.options.ping), pool.use(h.options.ping)]);
      proxy.refuse();
      expect(proxy.killAll()).toBe(2);
      await expect(pool.use(h.options.ping)).rejects.toBeInstanceOf(Error);
      proxy.forward();
      await h.eventually(() => pool.use(h.options.ping));
      await Promise.all([pool.use(h.options.ping), pool.use(h.options.ping)]);
    },
  },
  // ------------------------------------------------------------------ statistics and secrets
  {
    name: 'statistics() reports sane figures',
    applies: (o) => o.capabilities.statistics,
    async run(h) {
      const { conn, factory } = await h.open();
      await h.options.ping(conn);
      expect(factory.statistics).toBeTypeOf('function');
      const stats = factory.statistics?.() ?? {};
      expect(JSON.parse(JSON.stringify(stats))).toEqual(stats);
      const cache = stats.statementCache;
      if (cache !== undefined) {
        for (const v of Object.values(cache)) expect(Number.isInteger(v) && v >= 0).toBe(true);
        expect(cache.size).toBeLessThanOrEqual(cache.capacity); // one connection is open
        expect(cache.hits + cache.misses).toBeGreaterThanOrEqual(cache.size);
      }
      if (stats.queryErrors !== undefined) expect(Number.isInteger(stats.queryErrors) && stats.queryErrors >= 0).toBe(true);
    },
  },
  {
    name: 'never shows the secret in toString, inspect or statistics',
    applies: (o) => has(o, 'secret'),
    async run(h) {
      const { conn, factory } = await h.open();
      await h.options.ping(conn);
      expectNoSecret(h.options.secret as string, factory, factory.statistics?.() ?? {}, conn);
    },
  },
];
