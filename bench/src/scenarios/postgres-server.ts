import pg from 'pg';

/** The PostgreSQL the scenarios use (`PG_URL`, default the local test database). */
export const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** `Scenario.unavailable` for the scenarios that need the PostgreSQL at {@link PG_URL}. */
export async function postgresUnavailable(): Promise<string | null> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return `PostgreSQL not reachable at ${PG_URL}: ${String(error)}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}
