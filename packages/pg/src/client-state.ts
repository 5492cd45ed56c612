/**
 * Reads what `pg.Client` knows about its own readiness, from fields internal to pg (the names of pg 8,
 * with the older public ones as a fallback): whether a query, cursor or stream is active or queued on
 * it, and whether it was ended. pg has no public API for this; these fields have kept their meaning
 * across pg 8.x, and each read tolerates their absence.
 */
import type pg from 'pg';

/**
 * A query object pg runs itself (anything with a `submit` method: `pg.Query`, pg-cursor's `Cursor`,
 * pg-query-stream's `QueryStream`). `PgConnection.query` hands it to the client and returns it.
 */
export type PgSubmittable = pg.Submittable;

interface ClientState {
  readyForQuery?: boolean;
  _ending?: boolean;
  _ended?: boolean;
  _queryable?: boolean;
  _activeQuery?: unknown;
  activeQuery?: unknown;
  _queryQueue?: unknown[];
  queryQueue?: unknown[];
  _sentQueryQueue?: unknown[];
}

/** True for a query object pg submits itself (it has a `submit` method). */
export function isSubmittable(query: unknown): query is PgSubmittable {
  return typeof query === 'object' && query !== null && typeof (query as { submit?: unknown }).submit === 'function';
}

/**
 * The SQL text of what is given to `client.query`: a string, a config or `pg.Query` (`text`), pg-cursor
 * (`text`), pg-query-stream (which keeps it on its `cursor`); `undefined` when none is found.
 */
export function sqlTextOf(query: unknown): string | undefined {
  if (typeof query === 'string') return query;
  if (typeof query !== 'object' || query === null) return undefined;
  const { text, cursor } = query as { text?: unknown; cursor?: { text?: unknown } | null };
  if (typeof text === 'string') return text;
  const inner = cursor?.text;
  return typeof inner === 'string' ? inner : undefined;
}

function activeQuery(c: ClientState): unknown {
  // pg 8 keeps it in `_activeQuery` behind a deprecated `activeQuery` getter (which warns): read the field.
  return '_activeQuery' in c ? c._activeQuery : c.activeQuery;
}

function queued(c: ClientState): unknown[] {
  return c._queryQueue ?? c.queryQueue ?? [];
}

/** True once `client.end()` was called on the client (by the pool or by a borrower). */
export function clientEnding(client: pg.Client): boolean {
  const c = client as unknown as ClientState;
  return c._ending === true || c._ended === true;
}

/**
 * Why `client` cannot take a query now, judged from the client alone, or `null` when it can: it was
 * ended or can no longer be queried; a query, cursor or stream is active on it; queries are queued
 * (or sent in pipeline mode and not answered); it waits for a ReadyForQuery.
 */
export function clientNotReadyReason(client: pg.Client): string | null {
  const c = client as unknown as ClientState;
  if (c._ending === true || c._ended === true) return 'the client was ended (client.end())';
  if (c._queryable === false) return 'the client can no longer be queried';
  const active = activeQuery(c);
  if (active !== null && active !== undefined) {
    return 'a query, cursor or stream is still active on it (close a cursor, consume or destroy a stream, await a query before release)';
  }
  const waiting = queued(c).length + (c._sentQueryQueue ?? []).length;
  if (waiting > 0) return waiting === 1 ? 'a query is still queued on it' : `${waiting} queries are still queued on it`;
  if (c.readyForQuery === false) return 'it is not ready for a query';
  return null;
}

/**
 * True when `client` only waits for the ReadyForQuery that follows a server error: pg settles a
 * failed query as soon as the ErrorResponse arrives, and the ReadyForQuery that says the session's
 * transaction status comes right after it (in the same packet, unless the network or a busy machine
 * splits them). Nothing is active or queued; the client is ready once that message is read.
 */
export function clientAwaitsReadyForQuery(client: pg.Client): boolean {
  const c = client as unknown as ClientState;
  if (c.readyForQuery !== false || c._ending === true || c._ended === true || c._queryable === false) return false;
  const active = activeQuery(c);
  return (active === null || active === undefined) && queued(c).length === 0 && (c._sentQueryQueue ?? []).length === 0;
}

/** True while `client` still holds `query`: active, or queued behind another. */
export function clientHolds(client: pg.Client, query: unknown): boolean {
  const c = client as unknown as ClientState;
  return activeQuery(c) === query || queued(c).includes(query);
}
