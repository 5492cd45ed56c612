import { ConnectionCreateError, ConnectionPool } from '@pool/core';
import { freePort, ReplicationCluster } from '@pool/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PgConnection } from './connection.js';
import { isReadOnlyError, MultiHostPgFactory, multiHostPgFactory } from './multi-host-factory.js';
import { createPgPool } from './pool.js';

let cluster: ReplicationCluster;
let deadPort: number;

beforeAll(async () => {
  cluster = await ReplicationCluster.start();
  deadPort = await freePort();
}, 180_000);

afterAll(async () => {
  await cluster?.destroy();
});

const ctx = () => ({ signal: new AbortController().signal, markBroken: () => {} });

async function inRecovery(conn: PgConnection): Promise<boolean> {
  const { rows } = await conn.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
  return rows[0]?.r === true;
}

async function connectWith(url: string): Promise<{ factory: MultiHostPgFactory; conn: PgConnection }> {
  const factory = multiHostPgFactory(url);
  const conn = await factory.create({ signal: AbortSignal.timeout(30_000), markBroken: () => {} });
  return { factory, conn };
}

function urlOf(target: string, ...ports: number[]): string {
  return `postgres://postgres@${ports.map((p) => `127.0.0.1:${p}`).join(',')}/postgres?target_session_attrs=${target}`;
}

describe('MultiHostPgFactory against a primary and a streaming replica', () => {
  it.each([
    ['read-write', false],
    ['primary', false],
    ['read-only', true],
    ['standby', true],
    ['prefer-standby', true],
  ])('target_session_attrs=%s lands on the right server whichever host is listed first', async (target, standby) => {
    for (const order of [
      [cluster.primary.port, cluster.replica.port],
      [cluster.replica.port, cluster.primary.port],
    ]) {
      const { factory, conn } = await connectWith(urlOf(target, ...order));
      try {
        expect(await inRecovery(conn)).toBe(standby);
        expect(factory.hostOf(conn)?.port).toBe(standby ? cluster.replica.port : cluster.primary.port);
        expect(factory.roleOf(conn)).toEqual({ inRecovery: standby, readOnly: standby });
      } finally {
        await factory.close(conn, ctx());
      }
      expect(factory.openConnections).toBe(0);
    }
  });

  it('skips a host that refuses connections and one that does not match, as libpq does', async () => {
    const { factory, conn } = await connectWith(urlOf('read-write', deadPort, cluster.replica.port, cluster.primary.port));
    try {
      expect(await inRecovery(conn)).toBe(false);
      expect(factory.targetMismatches).toBe(1);
    } finally {
      await factory.close(conn, ctx());
    }
    expect(factory.openConnections).toBe(0);
  });

  it('prefer-standby falls back to the primary when no standby is reachable', async () => {
    const { factory, conn } = await connectWith(urlOf('prefer-standby', deadPort, cluster.primary.port));
    try {
      expect(await inRecovery(conn)).toBe(false);
    } finally {
      await factory.close(conn, ctx());
    }
  });

  it('fails with ConnectionCreateError saying what every host did when none matches', async () => {
    const factory = multiHostPgFactory(urlOf('standby', deadPort, cluster.primary.port));
    const error = await factory.create({ signal: AbortSignal.timeout(30_000), markBroken: () => {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionCreateError);
    expect((error as Error).message).toContain(`127.0.0.1:${deadPort}: `);
    expect((error as Error).message).toContain(`127.0.0.1:${cluster.primary.port}: is a primary`);
    expect(factory.openConnections).toBe(0);
  });

  it('load_balance_hosts=random spreads connects over the hosts', async () => {
    const factory = multiHostPgFactory(
      `postgres://postgres@127.0.0.1:${cluster.primary.port},127.0.0.1:${cluster.replica.port}/postgres?load_balance_hosts=random`,
    );
    const seen = new Map<number, number>();
    for (let i = 0; i < 40; i++) {
      const conn = await factory.create({ signal: AbortSignal.timeout(30_000), markBroken: () => {} });
      const port = factory.hostOf(conn)?.port as number;
      seen.set(port, (seen.get(port) ?? 0) + 1);
      await factory.close(conn, ctx());
    }
    // 40 fair coin flips: each side at least 5 times fails with probability below 1e-6.
    expect(seen.get(cluster.primary.port)).toBeGreaterThanOrEqual(5);
    expect(seen.get(cluster.replica.port)).toBeGreaterThanOrEqual(5);
  });

  it('a connection retired after a 25006 write failure is closed by the pool, not reused', async () => {
    // target any, replica first: the pool's connection is on the standby, so a write fails with 25006.
    const factory = multiHostPgFactory({
      hosts: [
        { host: '127.0.0.1', port: cluster.replica.port },
        { host: '127.0.0.1', port: cluster.primary.port },
      ],
      user: 'postgres',
      database: 'postgres',
    });
    const pool = await ConnectionPool.create({ maxSize: 1 }, factory);
    try {
      const first = await pool.acquire();
      const retired = first.connection;
      const error = await retired.query('CREATE TABLE t_should_fail (id int)').catch((e: unknown) => e);
      expect(isReadOnlyError(error)).toBe(true);
      factory.retire(retired, error);
      first.release();
      const second = await pool.acquire();
      const fresh = second.connection;
      second.release();
      expect(fresh).not.toBe(retired);
      expect(retired.broken).toBe(true);
      expect(await factory.validate(retired, { signal: AbortSignal.timeout(1000) })).toBe(false);
    } finally {
      await pool.close();
    }
    expect(factory.openConnections).toBe(0);
  });

  it('createPgPool takes a multi-host connection string or hosts, as libpq does', async () => {
    const writer = createPgPool({ connectionString: urlOf('read-write', cluster.replica.port, cluster.primary.port), max: 2 });
    const reader = createPgPool({
      hosts: [
        { host: '127.0.0.1', port: cluster.primary.port },
        { host: '127.0.0.1', port: cluster.replica.port },
      ],
      targetSessionAttrs: 'standby',
      user: 'postgres',
      database: 'postgres',
      max: 2,
    });
    try {
      expect(writer.factory).toBeInstanceOf(MultiHostPgFactory);
      const w = await writer.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
      const r = await reader.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
      expect([w.rows[0]?.r, r.rows[0]?.r]).toEqual([false, true]);
    } finally {
      await writer.end();
      await reader.end();
    }
    expect(writer.factory.openConnections + reader.factory.openConnections).toBe(0);
  });
});
