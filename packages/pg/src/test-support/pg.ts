import pg from 'pg';

/** The test server, from PG_URL (default: the local trust-auth server). */
export const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** PG_URL with a password, for secret-leak checks (trust auth ignores it; an existing one is kept). */
export const SECRET_URL = (() => {
  const url = new URL(PG_URL);
  if (url.password === '') url.password = 'pool-s3cret-pw';
  return url.toString();
})();
export const SECRET = decodeURIComponent(new URL(SECRET_URL).password);

/** PG_URL's host and port. */
export const PG_TARGET = (() => {
  const url = new URL(PG_URL);
  return { host: url.hostname, port: Number(url.port || 5432) };
})();

/** A connection string to `host:port` with PG_URL's user, password and database. */
export function urlVia(address: { host: string; port: number }, base = SECRET_URL): string {
  const url = new URL(base);
  url.hostname = address.host;
  url.port = String(address.port);
  return url.toString();
}

/** Runs one query on a short-lived admin connection. */
export async function admin<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, values?: unknown[]): Promise<R[]> {
  const client = new pg.Client({ connectionString: PG_URL });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** Terminates the server process of a session, as an operator or a failover would. */
export async function terminate(pid: number | null): Promise<void> {
  if (pid === null) throw new Error('no backend pid: the connection never connected');
  const rows = await admin<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [pid]);
  if (rows[0]?.ok !== true) throw new Error(`pg_terminate_backend(${pid}) did not terminate anything`);
}

/** A name unique to this test run, for tables and channels shared servers see. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;
}
