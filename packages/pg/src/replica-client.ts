import type { PooledConnection } from '@pool/core';
import type pg from 'pg';
import type { PgConnection, PgQuery } from './connection.js';
import { isReadOnlyError } from './multi-host-factory.js';

/** @internal What a replica client tells its pool. */
export interface ReplicaClientHost {
  /** A write on this connection failed with 25006: its server is no longer a primary. */
  readOnlyFailure(conn: PgConnection, error: unknown): void;
}

/**
 * One connection borrowed with `replicaPool.connect({ readOnly })`, shaped like `pg.PoolClient`:
 * `query()`, and `release(err?)` (a truthy `err` destroys the connection instead of reusing it).
 * A write client whose query fails with `25006` (the primary was demoted) is retired: the pool closes
 * it at release instead of reusing it.
 */
export class PgReplicaClient {
  /** True for a read client (a standby's session, or a read-only session on the primary). */
  readonly readOnly: boolean;
  /** `host:port` of the server this session is on. */
  readonly host: string;
  readonly #pooled: PooledConnection<PgConnection>;
  readonly #host: ReplicaClientHost;
  #error: unknown = undefined;

  /** @internal Made by the replica pool. */
  constructor(pooled: PooledConnection<PgConnection>, readOnly: boolean, host: string, owner: ReplicaClientHost) {
    this.#pooled = pooled;
    this.readOnly = readOnly;
    this.host = host;
    this.#host = owner;
  }

  /** The underlying connection (see {@link PgConnection}). */
  get connection(): PgConnection {
    return this.#pooled.connection;
  }

  /** The server process id of the session. */
  get processID(): number | null {
    return this.#pooled.connection.processID;
  }

  /** Runs a query (see {@link PgConnection.query}). */
  async query<R extends pg.QueryResultRow = Record<string, unknown>>(query: PgQuery, values?: unknown[]): Promise<pg.QueryResult<R>> {
    const conn = this.#pooled.connection;
    try {
      return await conn.query<R>(query, values);
    } catch (error) {
      this.#error = error;
      if (!this.readOnly && isReadOnlyError(error)) this.#host.readOnlyFailure(conn, error);
      throw error;
    }
  }

  /** Gives the connection back; a truthy `err` (an `Error` or `true`) destroys it instead, as in pg. */
  release(err?: Error | boolean): void {
    if (err) {
      void this.#pooled.destroy(err === true ? new Error('released with release(true)') : err);
      return;
    }
    if (this.#error !== undefined) this.#pooled.release({ error: this.#error });
    else this.#pooled.release();
  }

  /** `await using client = await pool.connect()` releases it at the end of the scope. */
  [Symbol.dispose](): void {
    if (!this.#pooled.released) this.release();
  }
}
