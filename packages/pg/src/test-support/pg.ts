import { addressOf, passwordOf, serverUrl, withPassword } from '@pool/testkit';
import pg from 'pg';

export { uniqueName, urlVia } from '@pool/testkit';

/** The test server, from PG_URL (default: the local trust-auth server). */
export const PG_URL = serverUrl('PG_URL', 'postgres://postgres@127.0.0.1:5432/test');

/** PG_URL with a password, for secret-leak checks (trust auth ignores it; an existing one is kept). */
export const SECRET_URL = withPassword(PG_URL, 'pool-s3cret-pw');
export const SECRET = passwordOf(SECRET_URL);

/** PG_URL's host and port. */
export const PG_TARGET = addressOf(PG_URL, 5432);

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
