// connect-pg-simple (express-session's PostgreSQL store) on createPgPool with the README's statement
// cache, as its users run it: an HTTP server with express-session that creates its table, keeps a
// session across requests, destroys it, prunes expired sessions, reports a store error, and closes.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import connectPgSimple from 'connect-pg-simple';
import session from 'express-session';
import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPgPool } from '../pool.js';
import { admin, PG_URL, uniqueName } from '../test-support/pg.js';

const schema = uniqueName('pool_sessions');
const PgStore = connectPgSimple(session);

afterAll(() => admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));

type SessionRequest = IncomingMessage & { session: session.Session & { views?: number } };

describe('connect-pg-simple on createPgPool', () => {
  it('stores express-session sessions: table created, session kept across requests, destroyed, pruned, errors reported', async () => {
    const pool = createPgPool({ connectionString: PG_URL, max: 4, statementCacheSize: 100 });
    await pool.query(`CREATE SCHEMA ${schema}`);
    // @types/connect-pg-simple types `pool` as pg.Pool, whose type has fields PgPool lacks (expiredCount,
    // ending, options); connect-pg-simple itself only calls query() and end().
    const store = new PgStore({
      pool: pool as unknown as pg.Pool,
      schemaName: schema,
      tableName: 'user_sessions',
      createTableIfMissing: true,
      pruneSessionInterval: false,
    });
    const middleware = session({ store, secret: 'pool-test-secret', resave: false, saveUninitialized: false, name: 'sid' });
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      middleware(req as never, res as never, () => {
        const r = req as SessionRequest;
        if (req.url === '/logout') {
          r.session.destroy((error) => res.end(error ? `error: ${String(error)}` : 'bye'));
          return;
        }
        r.session.views = (r.session.views ?? 0) + 1;
        res.end(String(r.session.views));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const first = await fetch(`${base}/`);
      expect(await first.text()).toBe('1');
      const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      expect(cookie).toMatch(/^sid=/);
      for (const expected of ['2', '3']) expect(await (await fetch(`${base}/`, { headers: { cookie } })).text()).toBe(expected);
      // A new visitor gets a session of its own.
      expect(await (await fetch(`${base}/`)).text()).toBe('1');

      const stored = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.user_sessions`);
      expect(stored.rows).toEqual([{ n: 2 }]);
      const sid = decodeURIComponent(cookie.slice('sid='.length)).replace(/^s:/, '').split('.')[0] ?? '';
      const kept = await new Promise<unknown>((resolve, reject) => store.get(sid, (e, s) => (e ? reject(e) : resolve(s))));
      expect(kept).toMatchObject({ views: 3 });

      expect(await (await fetch(`${base}/logout`, { headers: { cookie } })).text()).toBe('bye');
      expect(await (await fetch(`${base}/`, { headers: { cookie } })).text()).toBe('1'); // the old session is gone

      // Pruning deletes expired sessions.
      await pool.query(`UPDATE ${schema}.user_sessions SET expire = now() - interval '1 day'`);
      await new Promise<void>((resolve, reject) => store.pruneSessions((e?: Error) => (e ? reject(e) : resolve())));
      expect((await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.user_sessions`)).rows).toEqual([{ n: 0 }]);

      // A store error (its table is missing) reaches the caller; the pool is fine afterwards.
      const broken = new PgStore({
        pool: pool as unknown as pg.Pool,
        schemaName: schema,
        tableName: 'no_such_sessions',
        pruneSessionInterval: false,
      });
      const error = await new Promise<unknown>((resolve) => broken.get('some-sid', (e) => resolve(e)));
      expect(error).toMatchObject({ code: '42P01' });
      await broken.close();
      expect((await pool.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    } finally {
      server.close();
      await store.close(); // a store given a pool leaves the pool open
    }
    expect(pool.ended).toBe(false);
    await pool.end();
    expect(pool.totalCount).toBe(0);
  });
});
