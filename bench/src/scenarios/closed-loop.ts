import { measureBatches } from '../measure.js';
import type { Scenario } from '../scenario.js';

/** A pool reduced to what the closed-loop scenarios (6, 6r, 6r0, 10) do with it. */
export interface QuerySubject {
  /** One query through the pool (borrow, `SELECT 1`, give back, however the pool spells it). */
  query(): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * `callers` callers (100) each loop `subject.query()` (10 times a batch, 2 in smoke runs); one batch
 * first opens every connection before the clock starts; then time per query. Closes the subject.
 */
export async function closedLoopQueries(
  subject: QuerySubject,
  opts: Parameters<Scenario['run']>[1],
  callers = 100,
): Promise<Record<string, number>> {
  const perCaller = opts.smoke ? 2 : 10;
  const batch = (): Promise<unknown> => {
    const runs: Promise<void>[] = [];
    for (let i = 0; i < callers; i++) {
      runs.push(
        (async () => {
          for (let j = 0; j < perCaller; j++) await subject.query();
        })(),
      );
    }
    return Promise.all(runs);
  };
  await batch();
  const r = await measureBatches(batch, callers * perCaller, { ...opts, timeMs: opts.timeMs * 2 });
  await subject.close();
  return { nsPerOp: r.nsPerOp, relMad: r.relMad };
}
