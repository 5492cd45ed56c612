import pg from 'pg';
import { measureBatches } from '../measure.js';
import type { Scenario } from '../scenario.js';

/** The PostgreSQL the scenarios use (`PG_URL`, default the local test database). */
export const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Callers of the closed-loop PostgreSQL scenarios (6, 6r, 6r0). */
export const CALLERS = 100;

/** A pool reduced to what the closed-loop scenarios do with it. */
export interface QuerySubject {
  /** One query through the pool (borrow, `SELECT 1`, give back, however the pool spells it). */
  query(): Promise<unknown>;
  close(): Promise<void>;
}

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

/**
 * {@link CALLERS} callers each loop `subject.query()` (10 times a batch, 2 in smoke runs); one batch
 * first opens every connection before the clock starts; then time per query. Closes the subject.
 */
export async function closedLoopQueries(subject: QuerySubject, opts: Parameters<Scenario['run']>[1]): Promise<Record<string, number>> {
  const perCaller = opts.smoke ? 2 : 10;
  const batch = (): Promise<unknown> => {
    const runs: Promise<void>[] = [];
    for (let i = 0; i < CALLERS; i++) {
      runs.push(
        (async () => {
          for (let j = 0; j < perCaller; j++) await subject.query();
        })(),
      );
    }
    return Promise.all(runs);
  };
  await batch();
  const r = await measureBatches(batch, CALLERS * perCaller, { ...opts, timeMs: opts.timeMs * 2 });
  await subject.close();
  return { nsPerOp: r.nsPerOp, relMad: r.relMad };
}
