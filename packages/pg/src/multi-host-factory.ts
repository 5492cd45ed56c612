import type { CreateContext, FactoryStatistics, OperationContext, ValidateContext } from '@pool/core';
import { ConnectionCreateError, InvalidConfigError } from '@pool/core';
import { abortable } from '@pool/core/adapter';
import { kInternals, type PgConnection } from './connection.js';
import { PG_FACTORY_OPTION_KEYS, PgFactory, type PgFactoryHooks, type PgFactoryOptions } from './factory.js';
import {
  hostClientConfig,
  hostKey,
  type LoadBalanceHosts,
  type PgHost,
  type PgMultiHostConfig,
  parseMultiHostConfig,
  type ResolvedMultiHostConfig,
  type TargetSessionAttrs,
} from './multi-host-config.js';

/** What a server said about itself after a connect: the two facts `target_session_attrs` is checked against. */
export interface PgServerRole {
  /** `pg_is_in_recovery()`: the server is a standby. */
  readonly inRecovery: boolean;
  /** `transaction_read_only` of a new session: writes are refused (a standby, or `default_transaction_read_only`). */
  readonly readOnly: boolean;
}

/** The SQL that reads a {@link PgServerRole} in one round trip. */
export const ROLE_QUERY = "SELECT pg_is_in_recovery() AS in_recovery, current_setting('transaction_read_only') = 'on' AS read_only";

/** SQLSTATE 25006, read_only_sql_transaction: a write reached a session that refuses writes. */
export const READ_ONLY_SQL_TRANSACTION = '25006';

/** True when `error` is PostgreSQL's 25006 (a write on a read-only session: the server is, or became, a standby). */
export function isReadOnlyError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === READ_ONLY_SQL_TRANSACTION;
}

/** True when a server with `role` satisfies `target` (libpq's rules; `prefer-standby` accepts any server). */
export function matchesTarget(role: PgServerRole, target: TargetSessionAttrs): boolean {
  switch (target) {
    case 'read-write':
      return !role.readOnly;
    case 'read-only':
      return role.readOnly;
    case 'primary':
      return !role.inRecovery;
    case 'standby':
      return role.inRecovery;
    default:
      return true;
  }
}

/** What a multi-host factory knows about one connection. */
interface ConnectionRecord {
  readonly host: PgHost;
  readonly factory: PgFactory;
  role: PgServerRole | null;
}

/** Options of {@link multiHostPgFactory}: {@link PgFactoryOptions}, plus a hook on each host's connect outcome. */
export interface MultiHostPgFactoryOptions extends PgFactoryOptions {
  /**
   * Called after every connect attempt to a host: with the role found, or the error. A replica pool
   * uses it to learn of a promotion as soon as a connect sees it. A hook that throws is ignored.
   */
  onHostChecked?: ((host: PgHost, outcome: { role: PgServerRole } | { error: unknown }) => void) | null;
  /**
   * Orders the hosts for each connect, overriding `loadBalanceHosts` (for example: the host last seen
   * as primary first). Must return some or all of the given hosts. Default: as configured.
   */
  orderHosts?: ((hosts: readonly PgHost[]) => readonly PgHost[]) | null;
}

/**
 * A `ConnectionFactory<PgConnection>` over several servers, with libpq's multi-host semantics: each
 * `create()` tries the hosts in order (or shuffled, with `load_balance_hosts=random`), checks the
 * server against `target_session_attrs` after connecting (`pg_is_in_recovery()`,
 * `transaction_read_only`), closes a connection that does not match and moves on. A connection whose
 * server stopped matching (a write failed with `25006` because the primary was demoted) is retired with
 * {@link MultiHostPgFactory.retire}: the pool closes it instead of reusing it.
 *
 * Each host is served by a {@link PgFactory} of its own, so reset, dirty tracking and the statement
 * cache behave exactly as for one host; `statistics()` adds them up.
 */
export class MultiHostPgFactory extends PgFactory {
  /** The servers, in the configured order. */
  readonly hosts: readonly PgHost[];
  /** libpq's `target_session_attrs`. */
  readonly targetSessionAttrs: TargetSessionAttrs;
  /** libpq's `load_balance_hosts`. */
  readonly loadBalanceHosts: LoadBalanceHosts;
  readonly #factories: Map<PgHost, PgFactory>;
  readonly #records = new WeakMap<PgConnection, ConnectionRecord>();
  readonly #retired = new WeakSet<PgConnection>();
  readonly #onHostChecked: MultiHostPgFactoryOptions['onHostChecked'];
  readonly #orderHosts: MultiHostPgFactoryOptions['orderHosts'];
  readonly #describe: string;
  #mismatches = 0;

  /**
   * @internal Use {@link multiHostPgFactory}. `hooks` are `createPgPool`'s (its pg.Pool facade learns
   * about every client the per-host factories make and close).
   */
  constructor(
    config: string | PgMultiHostConfig | ResolvedMultiHostConfig,
    options: MultiHostPgFactoryOptions = {},
    hooks: PgFactoryHooks = {},
  ) {
    const resolved = parseMultiHostConfig(config);
    if (typeof options !== 'object' || options === null)
      throw new InvalidConfigError('options', options, 'must be an object of factory options');
    const { onHostChecked, orderHosts, ...pgOptions } = options;
    for (const key of Object.keys(pgOptions)) {
      if (!PG_FACTORY_OPTION_KEYS.includes(key)) {
        throw new InvalidConfigError(
          key,
          (pgOptions as Record<string, unknown>)[key],
          `is not a multiHostPgFactory option; known: ${[...PG_FACTORY_OPTION_KEYS, 'onHostChecked', 'orderHosts'].join(', ')}`,
        );
      }
    }
    if (onHostChecked != null && typeof onHostChecked !== 'function')
      throw new InvalidConfigError('onHostChecked', onHostChecked, 'must be a function');
    if (orderHosts != null && typeof orderHosts !== 'function')
      throw new InvalidConfigError('orderHosts', orderHosts, 'must be a function');
    // The base class checks and holds the factory options (statementCacheSize, resetMode...); the
    // connections are made by one PgFactory per host.
    super(hostClientConfig(resolved.client, resolved.hosts[0] as PgHost), pgOptions, hooks);
    this.hosts = resolved.hosts;
    this.targetSessionAttrs = resolved.targetSessionAttrs;
    this.loadBalanceHosts = resolved.loadBalanceHosts;
    this.#factories = new Map(resolved.hosts.map((h) => [h, new PgFactory(hostClientConfig(resolved.client, h), pgOptions, hooks)]));
    this.#onHostChecked = onHostChecked ?? null;
    this.#orderHosts = orderHosts ?? null;
    const c = resolved.client;
    const url = c.connectionString === undefined ? null : safeUrlParts(c.connectionString);
    const user = url?.user ?? c.user;
    const database = url?.database ?? c.database;
    this.#describe = `postgres://${user ? `${user}@` : ''}${resolved.hosts.map(hostKey).join(',')}/${database ?? ''}`;
  }

  /** The host a connection of this factory is on. */
  hostOf(conn: PgConnection): PgHost | undefined {
    return this.#records.get(conn)?.host;
  }

  /** The role the server of `conn` had when it connected (or when last checked). */
  roleOf(conn: PgConnection): PgServerRole | null {
    return this.#records.get(conn)?.role ?? null;
  }

  /** The per-host factory of `host` (statement-cache figures per server). */
  factoryOf(host: PgHost): PgFactory | undefined {
    return this.#factories.get(host);
  }

  /**
   * Retires a connection whose server no longer matches `target_session_attrs` (a write failed with
   * `25006`): it is marked broken, so the pool closes it at release instead of reusing it, and
   * `validate()` refuses it.
   */
  retire(conn: PgConnection, reason?: unknown): void {
    if (this.#retired.has(conn)) return;
    this.#retired.add(conn);
    const record = this.#records.get(conn);
    if (record !== undefined && record.role !== null) record.role = { inRecovery: true, readOnly: true };
    conn[kInternals].lifecycle.markBroken(
      reason ?? new Error(`the server no longer matches target_session_attrs=${this.targetSessionAttrs}`),
    );
  }

  /** The order hosts are tried in for the next connect. */
  #candidates(): readonly PgHost[] {
    const order = this.#orderHosts;
    if (order !== null && order !== undefined) {
      const ordered = order(this.hosts);
      if (Array.isArray(ordered) && ordered.length > 0) return ordered;
    }
    if (this.loadBalanceHosts === 'disable' || this.hosts.length < 2) return this.hosts;
    const shuffled = [...this.hosts];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j] as PgHost, shuffled[i] as PgHost];
    }
    return shuffled;
  }

  #report(host: PgHost, outcome: { role: PgServerRole } | { error: unknown }): void {
    const hook = this.#onHostChecked;
    if (hook === null || hook === undefined) return;
    try {
      hook(host, outcome);
    } catch {
      // A monitoring hook must not decide whether a connect succeeds.
    }
  }

  /**
   * Opens a connection to the first host (in order, or shuffled) that accepts it and matches
   * `target_session_attrs`; with `prefer-standby`, a standby first, then any server. Rejects with
   * `ConnectionCreateError` listing what each host did when none fits; the pool retries with backoff
   * (and its probe) while callers wait, so a promoted standby is found without a restart.
   */
  override async create(ctx: CreateContext): Promise<PgConnection> {
    const candidates = this.#candidates();
    const failures: string[] = [];
    let lastError: unknown;
    const passes: TargetSessionAttrs[] = this.targetSessionAttrs === 'prefer-standby' ? ['standby', 'any'] : [this.targetSessionAttrs];
    const skip = new Set<PgHost>();
    for (const target of passes) {
      for (const host of candidates) {
        if (skip.has(host)) continue;
        if (ctx.signal.aborted) throw ctx.signal.reason;
        const factory = this.#factories.get(host) as PgFactory;
        let conn: PgConnection;
        try {
          conn = await factory.create(ctx);
        } catch (error) {
          if (ctx.signal.aborted) throw error;
          skip.add(host);
          lastError = error;
          failures.push(`${hostKey(host)}: ${error instanceof Error ? error.message : String(error)}`);
          this.#report(host, { error });
          continue;
        }
        let role: PgServerRole;
        try {
          role = this.targetSessionAttrs === 'any' ? { inRecovery: false, readOnly: false } : await this.#readRole(conn, ctx.signal);
        } catch (error) {
          await factory.close(conn, ctx).catch(() => {});
          if (ctx.signal.aborted) throw error;
          skip.add(host);
          lastError = error;
          failures.push(`${hostKey(host)}: checking the server failed: ${error instanceof Error ? error.message : String(error)}`);
          this.#report(host, { error });
          continue;
        }
        if (this.targetSessionAttrs !== 'any') this.#report(host, { role });
        if (matchesTarget(role, target)) {
          this.#records.set(conn, { host, factory, role: this.targetSessionAttrs === 'any' ? null : role });
          return conn;
        }
        this.#mismatches++;
        failures.push(`${hostKey(host)}: is ${describeRole(role)}`);
        await factory.close(conn, ctx).catch(() => {});
      }
    }
    const error = new ConnectionCreateError(`No host matched target_session_attrs=${this.targetSessionAttrs} (${failures.join('; ')})`);
    if (lastError !== undefined) Object.defineProperty(error, 'cause', { value: lastError, configurable: true, writable: true });
    throw error;
  }

  async #readRole(conn: PgConnection, signal: AbortSignal): Promise<PgServerRole> {
    const { rows } = await abortable(conn[kInternals].run<{ in_recovery: boolean; read_only: boolean }>(ROLE_QUERY, signal), signal);
    const row = rows[0];
    if (row === undefined) throw new Error('the role query returned no row');
    return { inRecovery: row.in_recovery === true, readOnly: row.read_only === true };
  }

  /** Delegates to the host's factory; a retired connection is refused. */
  override async validate(conn: PgConnection, ctx: ValidateContext): Promise<boolean> {
    const record = this.#records.get(conn);
    if (record === undefined || this.#retired.has(conn)) return false;
    return record.factory.validate(conn, ctx);
  }

  /** Delegates to the host's factory (see {@link PgFactory.reset}). */
  override async reset(conn: PgConnection, ctx: OperationContext): Promise<void> {
    const record = this.#records.get(conn);
    if (record === undefined) throw new Error('not a connection of this factory');
    await record.factory.reset(conn, ctx);
  }

  /** See {@link PgConnection.dirty}. */
  override isDirty(conn: PgConnection): boolean {
    return conn.dirty;
  }

  /** Ends the session through the host's factory; safe on a broken connection. */
  /** Resolves once every per-host factory's abandoned connects are closed (see {@link PgFactory.settled}). */
  override async settled(): Promise<void> {
    await Promise.all([super.settled(), ...[...this.#factories.values()].map((f) => f.settled())]);
  }

  override async close(conn: PgConnection, ctx: OperationContext): Promise<void> {
    const record = this.#records.get(conn);
    if (record === undefined) throw new Error('not a connection of this factory');
    await record.factory.close(conn, ctx);
  }

  /** Statement-cache figures and query errors summed over the hosts. */
  override statistics(): FactoryStatistics {
    const sum: Record<string, number> = {};
    for (const factory of this.#factories.values()) {
      for (const [key, value] of Object.entries(factory.statistics())) {
        if (typeof value === 'number') sum[key] = (sum[key] ?? 0) + value;
      }
    }
    return sum as FactoryStatistics;
  }

  /** Connections opened and not closed yet, over every host. */
  override get openConnections(): number {
    let n = 0;
    for (const factory of this.#factories.values()) n += factory.openConnections;
    return n;
  }

  /** Connects that reached a server that did not match `target_session_attrs` (closed and skipped). */
  get targetMismatches(): number {
    return this.#mismatches;
  }

  /** A short description (the password is never shown). */
  override toString(): string {
    return `MultiHostPgFactory(${this.#describe}, target_session_attrs=${this.targetSessionAttrs}, load_balance_hosts=${this.loadBalanceHosts})`;
  }
}

function describeRole(role: PgServerRole): string {
  if (role.inRecovery) return 'a standby';
  return role.readOnly ? 'a primary with read-only sessions' : 'a primary';
}

/**
 * Makes a `ConnectionFactory<PgConnection>` over several PostgreSQL servers with libpq's
 * `target_session_attrs` and `load_balance_hosts` (see {@link MultiHostPgFactory}). Give it to
 * `ConnectionPool.create` for a pool that always writes to the current primary and follows a failover.
 *
 * @example
 * ```ts
 * const factory = multiHostPgFactory('postgres://app@db1:5432,db2:5432/app?target_session_attrs=read-write');
 * const pool = await ConnectionPool.create({ maxSize: 20 }, factory);
 * await pool.use((db) => db.query('INSERT INTO events (kind) VALUES ($1)', ['signup']));
 * ```
 */
export function multiHostPgFactory(
  config: string | PgMultiHostConfig | ResolvedMultiHostConfig,
  options: MultiHostPgFactoryOptions = {},
): MultiHostPgFactory {
  return new MultiHostPgFactory(config, options);
}

/** The user and database of a connection string, for descriptions (never the password). */
function safeUrlParts(url: string): { user: string | undefined; database: string | undefined } | null {
  try {
    const parsed = new URL(url);
    return {
      user: parsed.username === '' ? undefined : decodeURIComponent(parsed.username),
      database: parsed.pathname.length > 1 ? decodeURIComponent(parsed.pathname.slice(1)) : undefined,
    };
  } catch {
    return null;
  }
}
