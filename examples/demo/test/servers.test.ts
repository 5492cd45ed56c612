/**
 * The demo on real servers (`DATABASE_URL=postgres://...`, `mysql://...`, `redis://...`), against the
 * servers the repository's tests use: PG_URL, MYSQL_URL and REDIS_URL, with the same defaults.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { SESSION_NAME } from '../src/backends.js';
import {
  expectCleanShutdownOnSigint,
  expectDashboardPage,
  expectLeakReportedAndReclaimed,
  healthLinePattern,
  management,
  startDemo,
} from './demo-process.js';

const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** How many sessions the server has under the demo's name (`null`: the server has no session names). */
type SessionCount = (() => Promise<number>) | null;

async function pgSessions(): Promise<number> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [
      SESSION_NAME,
    ]);
    return rows[0]?.n ?? 0;
  } finally {
    await client.end();
  }
}

async function redisSessions(): Promise<number> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0 });
  await client.connect();
  try {
    const list = (await client.client('LIST')) as string;
    return list.split('\n').filter((line) => line.includes(` name=${SESSION_NAME} `)).length;
  } finally {
    client.disconnect();
  }
}

/** Polls `count` until it gives `expected` (a closed session leaves the server's list a moment later). */
async function eventually(count: () => Promise<number>, expected: number): Promise<number> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const n = await count();
    if (n === expected || Date.now() > deadline) return n;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const servers: { name: string; url: string; banner: RegExp; factory: RegExp; sessions: SessionCount }[] = [
  {
    name: 'PostgreSQL',
    url: PG_URL,
    banner: /^@pool demo: a multi-tenant application on PostgreSQL at postgres(ql)?:\/\//m,
    factory: /^PgFactory\(postgres(ql)?:\/\//,
    sessions: pgSessions,
  },
  {
    name: 'MySQL/MariaDB',
    url: MYSQL_URL,
    banner: /^@pool demo: a multi-tenant application on MySQL\/MariaDB at (mysql|mariadb):\/\//m,
    factory: /^MysqlFactory\(mysql:\/\//,
    sessions: null,
  },
  {
    name: 'Redis',
    url: REDIS_URL,
    banner: /^@pool demo: a multi-tenant application on Redis at rediss?:\/\//m,
    factory: /^RedisFactory\(redis:\/\//,
    sessions: redisSessions,
  },
];

describe.each(servers)('on $name (DATABASE_URL=$url)', ({ url, banner, factory, sessions }) => {
  it('runs its traffic on the server, serves the dashboard, reports pool health and leaks, and shuts down cleanly on SIGINT', async () => {
    const demo = startDemo(url, { leakEveryMs: 1_000 });
    await demo.waitFor(/^Warm: /m);
    expect(demo.output().stdout).toMatch(banner);
    expect(demo.output().stdout).toMatch(/^Warming up: 5 connections open in \d+ ms$/m); // the server sizing's initialSize

    // The pool behind the management API is the real adapter's, with the server sizing, and its
    // connections are the server's sessions.
    const { base, auth } = management(demo);
    await expectDashboardPage(base);
    const pool = (await (await fetch(`${base}/pools/app`, { headers: auth })).json()) as {
      config: { factory: string; maxSize: number };
      size: { total: number };
    };
    expect(pool.config.factory).toMatch(factory);
    expect(pool.config.maxSize).toBe(20);
    expect(pool.size.total).toBeGreaterThanOrEqual(2);
    if (sessions !== null) expect(await sessions()).toBeGreaterThanOrEqual(2); // minSize
    const data = (await (await fetch(`${base}/pools/app/dashboard`, { headers: auth })).json()) as { maxConnections: number };
    expect(data.maxConnections).toBe(20);

    // Requests succeed on the server while the health line and a leak come and go.
    await demo.waitFor(healthLinePattern(10, 5));
    await expectLeakReportedAndReclaimed(demo);
    const statistics = (await (await fetch(`${base}/pools/app/statistics`, { headers: auth })).json()) as {
      released: number;
      createFailures: number;
    };
    expect(statistics.released).toBeGreaterThan(0);
    expect(statistics.createFailures).toBe(0);

    const { stdout } = await expectCleanShutdownOnSigint(demo, { simulated: false });
    expect(stdout).toMatch(/^Traffic stopped: [1-9]\d* requests served, 0 failed, /m);
    if (sessions !== null) expect(await eventually(sessions, 0)).toBe(0); // nothing left open on the server
  });
});
