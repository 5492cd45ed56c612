import { createServer, type Server } from 'node:net';
import { PrivatePostgres } from '@pool/test-servers';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectLog } from './connect-log.js';
import { measureRecovery, RECOVERY_BOUNDS } from './recovery.js';

/**
 * The recovery measurement on a private PostgreSQL (initdb in a temporary directory, removed in
 * afterAll). The suite asserts what does not depend on the machine's speed: @pool's callers are served
 * again without anyone recreating the pool, and during the outage the pool makes at most one connect
 * attempt per 100 ms, one at a time (from its first moment: a cut connection makes the pool careful). The time to recover is measured and bounded by `pnpm recovery`
 * (a measurement, printed against pg.Pool's; see docs/reliability.md), not here.
 */

let server: PrivatePostgres | undefined;

beforeAll(async () => {
  server = await PrivatePostgres.start();
}, 180_000);

afterAll(async () => {
  await server?.destroy();
}, 180_000);

describe('ConnectLog', () => {
  let refusing: Server | undefined;
  afterAll(() => refusing?.close());

  it('counts connects of the promise and the callback form, failed or not, and how many were in flight', async () => {
    const log = new ConnectLog();
    const ok = new log.Client({ connectionString: (server as PrivatePostgres).url });
    await ok.connect();
    await ok.end();
    // A server that accepts and at once closes: the connect fails.
    refusing = createServer((socket) => socket.destroy()).listen(0, '127.0.0.1');
    await new Promise((r) => refusing?.once('listening', r));
    const port = (refusing.address() as { port: number }).port;
    const bad = [new log.Client({ host: '127.0.0.1', port, user: 'x' }), new log.Client({ host: '127.0.0.1', port, user: 'x' })];
    const errors = await Promise.all([
      bad[0]?.connect().then(
        () => null,
        (e: unknown) => e,
      ),
      new Promise((resolve) => bad[1]?.connect((err: Error) => resolve(err))),
    ]);
    expect(errors.every((e) => e instanceof Error)).toBe(true);
    expect(log.attempts.map((a) => a.failed)).toEqual([false, true, true]);
    expect(log.attempts.map((a) => a.inFlightAtStart)).toEqual([1, 1, 2]);
    expect(log.attempts.every((a) => a.endedAt !== undefined && a.endedAt >= a.startedAt)).toBe(true);
  });

  it('leaves pg.Pool working with the counting client', async () => {
    const log = new ConnectLog();
    const pool = new pg.Pool({ connectionString: (server as PrivatePostgres).url, Client: log.Client, max: 2 });
    const { rows } = await pool.query<{ one: number }>('SELECT 1 AS one');
    expect(rows[0]?.one).toBe(1);
    await pool.end();
    expect(log.attempts).toHaveLength(1);
  });
});

describe('@pool through a PostgreSQL outage, callers waiting', () => {
  for (const outage of [{ kind: 'stop', downMs: 1_000 } as const, { kind: 'crash' } as const]) {
    it(`${outage.kind === 'crash' ? 'crash (pg_ctl restart -m immediate)' : 'stopped for 1 s'}: serves again by itself, one connect attempt at a time at most every 100 ms`, async () => {
      const run = await measureRecovery(server as PrivatePostgres, '@pool', outage);
      console.log(`[recovery] ${JSON.stringify(run)}`);
      expect(run.recoveryMs, 'a success after the server was back').toBeGreaterThanOrEqual(0);
      expect(run.connects.maxPer100ms).toBeLessThanOrEqual(RECOVERY_BOUNDS.perHundredMs);
      expect(run.connects.peakInFlight).toBeLessThanOrEqual(RECOVERY_BOUNDS.inFlight);
      expect(run.connects.firstRound, 'connects before the first failure came back').toBeLessThanOrEqual(1);
    }, 120_000);
  }
});
