import pg from 'pg';
import { hostKey, type PgHost } from './multi-host-config.js';
import type { PgServerRole } from './multi-host-factory.js';

/** What a host is, as last seen: `'unknown'` until the first check answers. */
export type PgHostRole = 'primary' | 'standby' | 'unknown';

/**
 * Whether a host can serve: `'up'`; `'lagging'` (a standby further behind than `maxReplicaLagMs`: no
 * reads until it catches up); `'down'` (the last check failed); `'unknown'` (not checked yet).
 */
export type PgHostState = 'up' | 'lagging' | 'down' | 'unknown';

/** One host as the monitor sees it. */
export interface PgHostStatus {
  /** `host:port`. */
  readonly key: string;
  readonly host: PgHost;
  readonly role: PgHostRole;
  readonly state: PgHostState;
  /**
   * How far a standby's replay is behind, in ms: `0` when it has replayed everything it received,
   * otherwise the age of the last transaction it replayed (`pg_last_xact_replay_timestamp()`). `null`
   * for a primary, a host not checked yet, or a standby that has replayed no transaction yet.
   */
  readonly lagMs: number | null;
  /** When the last check ended (ms since the epoch), or `null`. */
  readonly checkedAt: number | null;
  /** Why the last check failed, or `null`. */
  readonly error: string | null;
}

/** Options of {@link HostMonitor}. */
export interface HostMonitorOptions {
  readonly hosts: readonly PgHost[];
  /** The client config of one host (user, password, database...). */
  readonly clientConfig: (host: PgHost) => pg.ClientConfig;
  readonly Client?: new (config: pg.ClientConfig) => pg.Client;
  /** Time between checks of each host. */
  readonly intervalMs: number;
  /** A connect or check that takes longer fails (and the host is `'down'`). */
  readonly checkTimeoutMs: number;
  /** A standby further behind than this is `'lagging'`; `null`: no limit. */
  readonly maxReplicaLagMs: number | null;
  /** Called when a host's role or state changes. */
  readonly onChange: (status: PgHostStatus, previous: PgHostStatus) => void;
}

/**
 * The SQL of one check: the role and, on a standby, the replay lag. Lag is 0 when everything received
 * has been replayed (an idle primary does not make a standby look late), otherwise the age of the last
 * replayed transaction: with replay paused or slow, that grows while WAL waits.
 */
export const CHECK_QUERY = `SELECT pg_is_in_recovery() AS in_recovery,
  current_setting('transaction_read_only') = 'on' AS read_only,
  CASE WHEN NOT pg_is_in_recovery() THEN NULL
       WHEN pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0
       ELSE GREATEST(0, EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000)::float8 END AS lag_ms`;

interface Entry {
  status: PgHostStatus;
  client: pg.Client | null;
  checking: boolean;
}

/**
 * Watches every host of a replica pool: one connection per host (opened again after a failure) runs
 * {@link CHECK_QUERY} every `intervalMs`, and connects made by the pool report what they saw
 * ({@link HostMonitor.report}), so a promotion is noticed by whichever comes first.
 */
export class HostMonitor {
  readonly #options: HostMonitorOptions;
  readonly #entries = new Map<PgHost, Entry>();
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  #round: Promise<void> | null = null;
  readonly #inflight = new Set<Promise<void>>();

  constructor(options: HostMonitorOptions) {
    this.#options = options;
    for (const host of options.hosts) {
      this.#entries.set(host, {
        status: { key: hostKey(host), host, role: 'unknown', state: 'unknown', lagMs: null, checkedAt: null, error: null },
        client: null,
        checking: false,
      });
    }
  }

  /** Starts the periodic checks (the timer does not keep the process alive) and runs the first round. */
  start(): Promise<void> {
    if (this.#timer === null && !this.#closed) {
      this.#timer = setInterval(() => void this.checkNow(), this.#options.intervalMs);
      this.#timer.unref();
    }
    return this.checkNow();
  }

  /** Checks every host now (hosts already being checked are left to finish). Never rejects. */
  checkNow(): Promise<void> {
    const round = Promise.all([...this.#entries.keys()].map((host) => this.#check(host))).then(() => {});
    this.#round = round;
    return round;
  }

  /** The current status of every host, in the configured order. */
  statuses(): PgHostStatus[] {
    return [...this.#entries.values()].map((e) => e.status);
  }

  /** The current status of one host. */
  status(host: PgHost): PgHostStatus {
    return (this.#entries.get(host) as Entry).status;
  }

  /** The host last seen as primary (and up), or `null`. */
  primary(): PgHost | null {
    for (const e of this.#entries.values()) if (e.status.role === 'primary' && e.status.state === 'up') return e.status.host;
    return null;
  }

  /** What a pool connect saw on `host`: its role, or an error. A promotion seen by a connect is known at once. */
  report(host: PgHost, outcome: { role: PgServerRole } | { error: unknown }): void {
    const entry = this.#entries.get(host);
    if (entry === undefined || this.#closed) return;
    if ('role' in outcome) {
      const role: PgHostRole = outcome.role.inRecovery ? 'standby' : 'primary';
      // A connect does not measure lag: keep the last measured one (and its state) for a standby.
      const state = role === 'primary' ? 'up' : entry.status.state === 'lagging' ? 'lagging' : 'up';
      this.#set(entry, { role, state, lagMs: role === 'primary' ? null : entry.status.lagMs, error: null });
    } else {
      // One failed connect is not enough to call a host down (it may be full); the check decides.
      void this.#check(host);
    }
  }

  #check(host: PgHost): Promise<void> {
    const entry = this.#entries.get(host) as Entry;
    if (entry.checking || this.#closed) return Promise.resolve();
    entry.checking = true;
    const check = this.#runCheck(entry);
    this.#inflight.add(check);
    void check.finally(() => this.#inflight.delete(check));
    return check;
  }

  async #runCheck(entry: Entry): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`check timed out after ${this.#options.checkTimeoutMs} ms`)),
          this.#options.checkTimeoutMs,
        );
      });
      const row = await Promise.race([this.#query(entry), timeout]);
      const role: PgHostRole = row.in_recovery ? 'standby' : 'primary';
      const lagMs = role === 'standby' && row.lag_ms !== null ? Math.round(Number(row.lag_ms)) : null;
      const limit = this.#options.maxReplicaLagMs;
      // A standby with WAL waiting and no replayed transaction yet has an unknown lag: not trusted under a limit.
      const lagging = role === 'standby' && limit !== null && (lagMs === null || lagMs > limit);
      this.#set(entry, { role, state: lagging ? 'lagging' : 'up', lagMs, error: null });
    } catch (error) {
      const client = entry.client;
      entry.client = null;
      if (client !== null) destroy(client);
      if (!this.#closed)
        this.#set(entry, {
          role: entry.status.role,
          state: 'down',
          lagMs: null,
          error: error instanceof Error ? error.message : String(error),
        });
    } finally {
      clearTimeout(timer);
      entry.checking = false;
    }
  }

  async #query(entry: Entry): Promise<{ in_recovery: boolean; read_only: boolean; lag_ms: number | null }> {
    if (entry.client === null) {
      const Client = this.#options.Client ?? pg.Client;
      const client = new Client({
        ...this.#options.clientConfig(entry.status.host),
        connectionTimeoutMillis: this.#options.checkTimeoutMs,
        application_name: 'pool-host-monitor',
      });
      client.on('error', () => {
        if (entry.client === client) entry.client = null;
      });
      entry.client = client;
      await client.connect();
      if (this.#closed) throw new Error('the monitor was closed');
      (client as unknown as { unref?: () => void }).unref?.();
    }
    const { rows } = await (entry.client as pg.Client).query<{ in_recovery: boolean; read_only: boolean; lag_ms: number | null }>(
      CHECK_QUERY,
    );
    const row = rows[0];
    if (row === undefined) throw new Error('the check returned no row');
    return row;
  }

  #set(entry: Entry, next: { role: PgHostRole; state: PgHostState; lagMs: number | null; error: string | null }): void {
    const previous = entry.status;
    entry.status = { key: previous.key, host: previous.host, ...next, checkedAt: Date.now() };
    if (previous.role !== next.role || previous.state !== next.state) {
      try {
        this.#options.onChange(entry.status, previous);
      } catch {
        // The pool's routing update cannot fail a check.
      }
    }
  }

  /** Stops the checks and closes the monitor's connections. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#round?.catch(() => {});
    await Promise.all([...this.#inflight]);
    const ending: Promise<void>[] = [];
    for (const entry of this.#entries.values()) {
      const client = entry.client;
      entry.client = null;
      if (client !== null) ending.push(client.end().catch(() => destroy(client)));
    }
    await Promise.all(ending);
  }
}

function destroy(client: pg.Client): void {
  const stream = (client as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream;
  stream?.destroy?.();
}
