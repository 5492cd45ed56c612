import type { PooledConnection } from '@pool/core';
import type pg from 'pg';
import { classify } from './classify.js';
import { sqlTextOf } from './client-state.js';
import type { PgConnection } from './connection.js';

/**
 * A client borrowed from {@link PgPool.connect}: pg's own `Client` object (`instanceof pg.Client`, the
 * same object every time the same connection is lent), with pg.Pool's `release(err?)`: a truthy `err`
 * (an `Error` or `true`) destroys the connection instead of reusing it; a second call throws. It also
 * supports `await using`.
 */
export type PgPoolClient = pg.PoolClient & {
  /** The server process id of the session (pg's `client.processID`). */
  readonly processID: number | null;
  [Symbol.asyncDispose](): Promise<void>;
};

const OWN_DEALLOCATE = /^DEALLOCATE "__pool_\d+_\d+"(?:; DEALLOCATE "__pool_\d+_\d+")*$/;

/** A session-changing statement run while a client was being set up (`onConnect`, `'connect'` listeners). */
interface SetupStatement {
  readonly text: string;
  readonly values: unknown[] | undefined;
}

/** @internal What the facade keeps for one pg client, from its construction to its close. */
export class ClientState {
  /** Set once the factory made the connection (after the client's connect). */
  conn: PgConnection | null = null;
  /** The current borrow, or null while idle. */
  pooled: PooledConnection<PgConnection> | null = null;
  /** True while the facade sets the client up: session-changing statements are recorded, not marked dirty. */
  recording = false;
  /** True once set up (`onConnect`, `'connect'`, `verify` done). */
  ready = false;
  /** A query error of `pool.query()` to report to the engine with the release (adaptive aging), not a reason to close. */
  report: unknown = undefined;
  /** The FATAL error the server sent, once it did (the session is over, though the socket may still be open). */
  fatal: Error | undefined = undefined;
  /** Borrows released so far (pg's `client._poolUseCount`). */
  uses = 0;
  /** Session-changing statements of the set-up, made again after a reset clears the session. */
  readonly setup: SetupStatement[] = [];
  /** The client's own `query`, before the facade's wrapper. */
  readonly query: (...args: unknown[]) => unknown;

  constructor(readonly client: pg.Client) {
    this.query = (client as unknown as { query: (...args: unknown[]) => unknown }).query;
  }

  /**
   * Wraps `client.query` so the pool sees session changes made through the raw client (`SET`, `LISTEN`,
   * temporary tables...): they make the session dirty, so it is reset before the next borrower; made
   * during set-up, they are recorded to be made again after such a reset. The wrapper returns what
   * pg's `query` returns (a promise, `undefined` with a callback, the submittable itself).
   */
  watchQueries(): void {
    const original = this.query;
    if (typeof original !== 'function') return;
    const state = this;
    (this.client as unknown as { query: unknown }).query = function query(this: unknown, ...args: unknown[]): unknown {
      state.#observe(args[0], args[1]);
      return original.apply(this, args);
    };
  }

  /** Runs the recorded set-up statements again (after a reset cleared the session). */
  async replaySetup(): Promise<void> {
    for (const { text, values } of this.setup) {
      await (this.query.call(this.client, text, values) as Promise<unknown>);
    }
  }

  #observe(query: unknown, values: unknown): void {
    const text = sqlTextOf(query); // also a pg-query-stream's, kept on its cursor
    // The statement cache's own DEALLOCATEs (names `__pool_...`) leave the session as it was.
    if (text === undefined || OWN_DEALLOCATE.test(text) || !classify(text).session) return;
    if (this.recording) {
      const params = Array.isArray(values) ? values : (query as { values?: unknown[] } | null)?.values;
      this.setup.push({ text, values: Array.isArray(params) ? [...params] : undefined });
    } else this.conn?.markDirty();
  }
}

/** pg's message for a second `release()`. */
export function doubleReleaseError(): Error {
  return new Error('Release called on client which has already been released to the pool.');
}
