import type { ConnectionFactory, CreateContext, FactoryStatistics, OperationContext, ValidateContext } from '@pool/core';
import { InvalidArgumentError, InvalidConfigError } from '@pool/core';
import { SimulatedConnectionError, SimulatedQueryError } from './errors.js';
import { abortReason, checkKeys, checkLatency, checkRate, delay, hang, type Latency, sampleLatency } from './latency.js';
import { SeededRandom } from './random.js';

/** Options of a {@link SimulatedFactory}. Every field is optional; they can be changed later with `configure()`. */
export interface SimulatedFactoryOptions {
  /** Seed of the random generator behind every latency sample and every failure decision. Default `1`. */
  seed?: number;
  /** How long `create()` takes. Default `0`. */
  connectLatencyMs?: Latency;
  /** How long a query (`conn.query`, and the validation query) takes. Default `0`. */
  queryLatencyMs?: Latency;
  /** How long `reset()` takes. Default `0`. */
  resetLatencyMs?: Latency;
  /** How long `close()` takes. Default `0`. */
  closeLatencyMs?: Latency;
  /** Probability that `create()` fails with `SimulatedConnectionError` (`ECONNREFUSED`). Default `0`. */
  connectFailureRate?: number;
  /** Probability that `create()` hangs until its signal aborts (a black-holed connect). Default `0`. */
  connectHangRate?: number;
  /** Probability that a query fails with `SimulatedQueryError` (the connection stays usable). Default `0`. */
  queryFailureRate?: number;
  /** Probability that a query hangs until its connection is killed or closed. Default `0`. */
  queryHangRate?: number;
  /** The "server's" connection limit: `create()` beyond it fails with `ETOOMANY`. `null`: no limit. Default `null`. */
  maxConnections?: number | null;
  /** Produces the rows of a query that is not one of the built-in commands. Default: no rows. */
  respond?: ((sql: string, params: readonly unknown[]) => unknown[]) | null;
}

/** What a simulated query resolves with. */
export interface SimulatedQueryResult {
  /** The first word of the query, upper-cased (`'SELECT'`, `'SET'`...). */
  command: string;
  rows: unknown[];
  rowCount: number;
}

/** Counters of a {@link SimulatedFactory}, since it was made. */
export interface SimulatedFactoryCounts {
  /** Connections opened. */
  created: number;
  /** `create()` calls that failed (refused, over the limit, or aborted). */
  createFailures: number;
  /** `create()` calls that hung. */
  createHangs: number;
  /** Connections closed by `close()`. */
  closed: number;
  /** `close()` calls on a connection already closed. */
  doubleCloses: number;
  /** Connections killed on the "server" side. */
  killed: number;
  validations: number;
  resets: number;
  queries: number;
  queryFailures: number;
}

const OPTION_KEYS = [
  'seed',
  'connectLatencyMs',
  'queryLatencyMs',
  'resetLatencyMs',
  'closeLatencyMs',
  'connectFailureRate',
  'connectHangRate',
  'queryFailureRate',
  'queryHangRate',
  'maxConnections',
  'respond',
] as const;

type Settings = Required<Omit<SimulatedFactoryOptions, 'seed'>>;

/** @internal What a simulated connection needs from its factory. */
interface Server {
  readonly settings: Settings;
  readonly random: SeededRandom;
  readonly counts: SimulatedFactoryCounts;
  drop(conn: SimulatedConnection): void;
}

const kServer: unique symbol = Symbol('simulated.server');
const kMarkBroken: unique symbol = Symbol('simulated.markBroken');
const kClose: unique symbol = Symbol('simulated.close');
const kReset: unique symbol = Symbol('simulated.reset');

/**
 * A connection to the simulated server of a {@link SimulatedFactory}: it runs fake queries with the
 * configured latency and failure rate, and keeps session state (settings, an open transaction) that
 * `reset()` must clear. Built-in commands: `BEGIN`/`START TRANSACTION`, `COMMIT`/`END`,
 * `ROLLBACK`/`ABORT`, `SET name = value` (or `TO`), `SHOW name`, `RESET ALL`; anything else answers
 * with the factory's `respond` rows (none by default).
 */
export class SimulatedConnection {
  /** A number unique within its factory, in creation order, starting at 1. */
  readonly id: number;
  readonly #settings = new Map<string, string>();
  readonly #pending = new Set<(error: unknown) => void>();
  #inTransaction = false;
  #state: 'open' | 'broken' | 'closed' = 'open';
  #queries = 0;
  /** @internal */
  readonly [kServer]: Server;
  /** @internal */
  readonly [kMarkBroken]: (error?: unknown) => void;

  /** @internal Made by `SimulatedFactory.create()` only. */
  constructor(id: number, server: Server, markBroken: (error?: unknown) => void) {
    this.id = id;
    this[kServer] = server;
    this[kMarkBroken] = markBroken;
  }

  /** `'open'`, `'broken'` (killed on the server side) or `'closed'`. */
  get state(): 'open' | 'broken' | 'closed' {
    return this.#state;
  }

  /** True while a transaction is open (`BEGIN` without `COMMIT`/`ROLLBACK`). */
  get inTransaction(): boolean {
    return this.#inTransaction;
  }

  /** The session settings changed with `SET` (a reset clears them). */
  get settings(): ReadonlyMap<string, string> {
    return new Map(this.#settings);
  }

  /** True when the session carries state a reset must clear: an open transaction or changed settings. */
  get dirty(): boolean {
    return this.#inTransaction || this.#settings.size > 0;
  }

  /** Queries run on this connection. */
  get queries(): number {
    return this.#queries;
  }

  /**
   * Runs a fake query after the configured latency. Rejects with `SimulatedConnectionError` when the
   * connection is broken or closed (also when that happens while the query runs), and with
   * `SimulatedQueryError` when the failure rate says so.
   */
  async query(sql: string, params: readonly unknown[] = []): Promise<SimulatedQueryResult> {
    if (typeof sql !== 'string') throw new InvalidArgumentError('sql', sql, 'must be a string');
    if (!Array.isArray(params)) throw new InvalidArgumentError('params', params, 'must be an array');
    const server = this[kServer];
    this.#usable();
    this.#queries++;
    server.counts.queries++;
    const { settings, random } = server;
    const hangs = random.chance(settings.queryHangRate);
    const fails = random.chance(settings.queryFailureRate);
    const latency = sampleLatency(settings.queryLatencyMs, random);
    await this.#wait(hangs ? null : latency);
    this.#usable();
    if (fails) {
      server.counts.queryFailures++;
      throw new SimulatedQueryError(sql);
    }
    return this.#execute(sql, params);
  }

  /**
   * Kills the connection from the "server" side, as `pg_terminate_backend` or a server restart would:
   * queries in flight reject, later ones too, and the factory reports it through `markBroken` (so a
   * pool replaces an idle one at once). Returns false if it was not open.
   */
  kill(reason = 'connection killed by the simulated server'): boolean {
    if (this.#state !== 'open') return false;
    this.#state = 'broken';
    const server = this[kServer];
    server.counts.killed++;
    server.drop(this);
    const error = new SimulatedConnectionError('ECONNRESET', reason);
    for (const reject of this.#pending) reject(error);
    this.#pending.clear();
    this[kMarkBroken](error);
    return true;
  }

  /** A short description. */
  toString(): string {
    return `SimulatedConnection(#${this.id}, ${this.#state}${this.dirty ? ', dirty' : ''})`;
  }

  /** @internal Clears session state (what `reset()` does after its latency). */
  [kReset](): void {
    this.#inTransaction = false;
    this.#settings.clear();
  }

  /** @internal Marks closed; returns false if already closed. */
  [kClose](): boolean {
    if (this.#state === 'closed') return false;
    const wasOpen = this.#state === 'open';
    this.#state = 'closed';
    const error = new SimulatedConnectionError('ECLOSED', `connection ${this.id} was closed`);
    for (const reject of this.#pending) reject(error);
    this.#pending.clear();
    if (wasOpen) this[kServer].drop(this);
    return true;
  }

  #usable(): void {
    if (this.#state === 'broken') throw new SimulatedConnectionError('ECONNRESET', `connection ${this.id} was killed by the server`);
    if (this.#state === 'closed') throw new SimulatedConnectionError('ECLOSED', `connection ${this.id} is closed`);
  }

  /** Waits `ms` (forever when null) unless the connection breaks or closes first. */
  #wait(ms: number | null): Promise<void> {
    if (ms !== null && ms <= 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onBreak = (error: unknown): void => {
        clearTimeout(timer);
        reject(error);
      };
      this.#pending.add(onBreak);
      if (ms !== null) {
        timer = setTimeout(() => {
          this.#pending.delete(onBreak);
          resolve();
        }, ms);
      }
    });
  }

  #execute(sql: string, params: readonly unknown[]): SimulatedQueryResult {
    const text = sql.trim().replace(/;$/, '').trim();
    const command = (text.split(/\s+/, 1)[0] ?? '').toUpperCase();
    const done = (rows: unknown[] = []): SimulatedQueryResult => ({ command, rows, rowCount: rows.length });
    switch (command) {
      case 'BEGIN':
      case 'START':
        this.#inTransaction = true;
        return done();
      case 'COMMIT':
      case 'END':
      case 'ROLLBACK':
      case 'ABORT':
        this.#inTransaction = false;
        return done();
      case 'SET': {
        const m = /^SET\s+(?:SESSION\s+)?([\w.]+)\s*(?:=|\s+TO\s+)\s*(.+)$/i.exec(text);
        if (m === null) throw new SimulatedQueryError(sql);
        this.#settings.set((m[1] as string).toLowerCase(), (m[2] as string).replace(/^'(.*)'$/, '$1'));
        return done();
      }
      case 'SHOW': {
        const name = (text.split(/\s+/)[1] ?? '').toLowerCase();
        return done([{ [name]: this.#settings.get(name) ?? null }]);
      }
      case 'RESET':
        if (/^RESET\s+ALL$/i.test(text)) this.#settings.clear();
        else this.#settings.delete((text.split(/\s+/)[1] ?? '').toLowerCase());
        return done();
      default: {
        const respond = this[kServer].settings.respond;
        return done(respond === null ? [] : respond(sql, params));
      }
    }
  }
}

/**
 * A `ConnectionFactory` for a simulated database: configurable latency, failure and hang rates, a
 * connection limit, and seeded randomness, so a test or a demo behaves the same on every run. Its
 * connections run fake queries and keep session state; `kill()` / `killAll()` break them from the
 * "server" side and report it through `markBroken`, like a real adapter does after a server restart.
 *
 * Latencies use `setTimeout`, so the factory works under `vi.useFakeTimers()`.
 *
 * @example
 * ```ts
 * const factory = new SimulatedFactory({ seed: 7, connectLatencyMs: { minMs: 5, maxMs: 50 }, queryFailureRate: 0.01 });
 * const pool = await ConnectionPool.create({ minSize: 2, maxSize: 10 }, factory);
 * const { rows } = await pool.use((db) => db.query('SELECT 1'));
 * factory.killAll();                               // a server restart: the pool replaces every connection
 * factory.configure({ connectFailureRate: 1 });    // the server is down: creates fail until reconfigured
 * ```
 */
export class SimulatedFactory implements ConnectionFactory<SimulatedConnection> {
  /** The random generator behind every decision (seeded by `seed`). */
  readonly random: SeededRandom;
  readonly #settings: Settings;
  readonly #open = new Set<SimulatedConnection>();
  readonly #counts: SimulatedFactoryCounts = {
    created: 0,
    createFailures: 0,
    createHangs: 0,
    closed: 0,
    doubleCloses: 0,
    killed: 0,
    validations: 0,
    resets: 0,
    queries: 0,
    queryFailures: 0,
  };
  readonly #server: Server;
  #nextId = 0;
  #connecting = 0;

  constructor(options: SimulatedFactoryOptions = {}) {
    const given = checkKeys('options', options, OPTION_KEYS) as SimulatedFactoryOptions;
    const seed = given.seed ?? 1;
    if (typeof seed !== 'number' || !Number.isInteger(seed)) throw new InvalidConfigError('seed', seed, 'must be an integer');
    this.random = new SeededRandom(seed);
    this.#settings = {
      connectLatencyMs: 0,
      queryLatencyMs: 0,
      resetLatencyMs: 0,
      closeLatencyMs: 0,
      connectFailureRate: 0,
      connectHangRate: 0,
      queryFailureRate: 0,
      queryHangRate: 0,
      maxConnections: null,
      respond: null,
    };
    const { seed: _seed, ...rest } = given;
    this.configure(rest);
    const open = this.#open;
    this.#server = {
      settings: this.#settings,
      random: this.random,
      counts: this.#counts,
      drop: (conn) => {
        open.delete(conn);
      },
    };
  }

  /**
   * Changes any option but `seed` from now on (for example `{ connectFailureRate: 1 }` to take the
   * "server" down, then `{ connectFailureRate: 0 }` to bring it back). Validates like the constructor.
   */
  configure(changes: Omit<SimulatedFactoryOptions, 'seed'>): this {
    const c = checkKeys(
      'options',
      changes,
      OPTION_KEYS.filter((k) => k !== 'seed'),
    ) as Omit<SimulatedFactoryOptions, 'seed'>;
    const next = { ...this.#settings };
    for (const key of ['connectLatencyMs', 'queryLatencyMs', 'resetLatencyMs', 'closeLatencyMs'] as const) {
      if (c[key] !== undefined) next[key] = checkLatency(key, c[key]);
    }
    for (const key of ['connectFailureRate', 'connectHangRate', 'queryFailureRate', 'queryHangRate'] as const) {
      if (c[key] !== undefined) next[key] = checkRate(key, c[key]);
    }
    if (c.maxConnections !== undefined) {
      const m = c.maxConnections;
      if (m !== null && (typeof m !== 'number' || !Number.isInteger(m) || m < 1)) {
        throw new InvalidConfigError('maxConnections', m, 'must be an integer >= 1, or null for no limit');
      }
      next.maxConnections = m;
    }
    if (c.respond !== undefined) {
      if (c.respond !== null && typeof c.respond !== 'function')
        throw new InvalidConfigError('respond', c.respond, 'must be a function or null');
      next.respond = c.respond;
    }
    Object.assign(this.#settings, next);
    return this;
  }

  /** Counters since the factory was made (a copy). */
  get counts(): SimulatedFactoryCounts {
    return { ...this.#counts };
  }

  /** The connections open on the simulated server right now (not killed, not closed). */
  connections(): SimulatedConnection[] {
    return [...this.#open];
  }

  /** Kills one connection from the server side (see {@link SimulatedConnection.kill}). */
  kill(conn: SimulatedConnection, reason?: string): boolean {
    if (!(conn instanceof SimulatedConnection) || conn[kServer] !== this.#server) {
      throw new InvalidArgumentError('conn', conn, 'must be a SimulatedConnection made by this factory');
    }
    return conn.kill(reason);
  }

  /** Kills every open connection, as a server restart does. Returns how many were killed. */
  killAll(reason = 'the simulated server restarted'): number {
    let n = 0;
    for (const conn of [...this.#open]) if (conn.kill(reason)) n++;
    return n;
  }

  async create(ctx: CreateContext): Promise<SimulatedConnection> {
    const { settings, random } = this.#server;
    const signal = ctx.signal;
    this.#connecting++;
    try {
      if (random.chance(settings.connectHangRate)) {
        this.#counts.createHangs++;
        await hang(signal);
      }
      await delay(sampleLatency(settings.connectLatencyMs, random), signal);
      if (random.chance(settings.connectFailureRate)) {
        throw new SimulatedConnectionError('ECONNREFUSED', 'connect ECONNREFUSED (simulated server refused the connection)');
      }
      const limit = settings.maxConnections;
      if (limit !== null && this.#open.size >= limit) {
        throw new SimulatedConnectionError('ETOOMANY', `sorry, too many clients already (simulated limit ${limit})`);
      }
      if (signal.aborted) throw abortReason(signal);
      const conn = new SimulatedConnection(++this.#nextId, this.#server, ctx.markBroken);
      this.#open.add(conn);
      this.#counts.created++;
      return conn;
    } catch (error) {
      this.#counts.createFailures++;
      throw error;
    } finally {
      this.#connecting--;
    }
  }

  /** Valid when open; runs `ctx.query` first when given (with the query latency and failure rate). */
  async validate(conn: SimulatedConnection, ctx: ValidateContext): Promise<boolean> {
    this.#counts.validations++;
    if (ctx.signal.aborted) return false;
    if (ctx.query !== undefined) {
      const aborted = hang(ctx.signal);
      aborted.catch(() => {});
      await Promise.race([conn.query(ctx.query), aborted]);
    }
    return conn.state === 'open';
  }

  /** Rolls back the open transaction and clears settings, after `resetLatencyMs`; rejects on a broken connection. */
  async reset(conn: SimulatedConnection, ctx: OperationContext): Promise<void> {
    this.#counts.resets++;
    await delay(sampleLatency(this.#settings.resetLatencyMs, this.random), ctx.signal);
    if (conn.state !== 'open') throw new SimulatedConnectionError('ECONNRESET', `cannot reset connection ${conn.id}: it is ${conn.state}`);
    conn[kReset]();
  }

  isDirty(conn: SimulatedConnection): boolean {
    return conn.dirty || conn.state !== 'open';
  }

  /** Closes after `closeLatencyMs`; safe on a broken or already closed connection. */
  async close(conn: SimulatedConnection, ctx: OperationContext): Promise<void> {
    await delay(sampleLatency(this.#settings.closeLatencyMs, this.random), ctx.signal).catch(() => {});
    if (conn[kClose]()) this.#counts.closed++;
    else this.#counts.doubleCloses++;
  }

  statistics(): FactoryStatistics {
    return { queryErrors: this.#counts.queryFailures };
  }

  /** A short description. */
  toString(): string {
    return `SimulatedFactory(seed ${this.random.seed}: ${this.#open.size} open, ${this.#connecting} connecting)`;
  }
}
