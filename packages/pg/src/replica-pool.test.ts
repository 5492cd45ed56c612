import { InvalidConfigError } from '@pool/core';
import { ReplicationCluster } from '@pool/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgReplicaPool, type PgReplicaPool, type PgReplicaPoolOptions } from './replica-pool.js';

let cluster: ReplicationCluster;

beforeAll(async () => {
  cluster = await ReplicationCluster.start();
  await cluster.primary.query('CREATE TABLE events (id serial PRIMARY KEY, note text)');
}, 180_000);

afterAll(async () => {
  await cluster?.destroy();
});

function poolOf(options: Partial<PgReplicaPoolOptions> = {}): PgReplicaPool {
  return createPgReplicaPool({
    connectionString: `postgres://postgres@127.0.0.1:${cluster.primary.port},127.0.0.1:${cluster.replica.port}/postgres`,
    monitorIntervalMs: 100,
    ...options,
  });
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('createPgReplicaPool on a primary and a streaming replica', () => {
  it('puts read-write sessions only on the primary and read sessions on the standby', async () => {
    const pool = poolOf();
    try {
      await pool.ready();
      const session = "SELECT pg_is_in_recovery() AS standby, current_setting('transaction_read_only') AS ro";
      const writes = await Promise.all(Array.from({ length: 200 }, () => pool.query<{ standby: boolean; ro: string }>(session)));
      for (const { rows } of writes) expect(rows[0]).toEqual({ standby: false, ro: 'off' });
      const reads = await Promise.all(
        Array.from({ length: 200 }, () => pool.query<{ standby: boolean; ro: string }>(session, [], { readOnly: true })),
      );
      for (const { rows } of reads) expect(rows[0]).toEqual({ standby: true, ro: 'on' });

      const writer = await pool.connect();
      const reader = await pool.connect({ readOnly: true });
      try {
        expect(writer.host).toBe(cluster.primary.address);
        expect(reader.host).toBe(cluster.replica.address);
        await writer.query("INSERT INTO events (note) VALUES ('from a client')");
        const refused = await reader.query("INSERT INTO events (note) VALUES ('refused')").catch((e: unknown) => e);
        expect((refused as { code?: string }).code).toBe('25006');
      } finally {
        writer.release();
        reader.release();
      }
      const stats = pool.statistics();
      expect(stats.writes).toBe(201);
      expect(stats.hosts.map((h) => [h.host, h.role, h.state])).toEqual([
        [cluster.primary.address, 'primary', 'up'],
        [cluster.replica.address, 'standby', 'up'],
      ]);
      expect(stats.hosts[1]?.reads).toBe(201);
      expect(stats.hosts[0]?.reads).toBe(0);
      const managed = pool.managedPools();
      expect(Object.keys(managed)).toEqual([
        `${pool.name}-primary`,
        `${pool.name}-read-${cluster.primary.address}`,
        `${pool.name}-read-${cluster.replica.address}`,
      ]);
      expect(managed[`${pool.name}-primary`]?.hosts).toBe(pool);
      expect(managed[`${pool.name}-primary`]?.partitions).toBe(pool.manager);
    } finally {
      await pool.close();
    }
    expect(pool.writePool.size().total).toBe(0);
    expect(pool.writeFactory.openConnections).toBe(0);
  }, 60_000);

  it('spreads 10,000 reads within 15 % of the configured weights (replica 3, primary 1)', async () => {
    const pool = createPgReplicaPool({
      hosts: [
        { host: '127.0.0.1', port: cluster.primary.port, weight: 1 },
        { host: '127.0.0.1', port: cluster.replica.port, weight: 3 },
      ],
      user: 'postgres',
      database: 'postgres',
      primaryReadWeight: 1,
      monitorIntervalMs: 100,
    });
    try {
      await pool.ready();
      let onPrimary = 0;
      let onReplica = 0;
      const callers = Array.from({ length: 20 }, async () => {
        for (let i = 0; i < 500; i++) {
          const { rows } = await pool.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby', [], { readOnly: true });
          if (rows[0]?.standby) onReplica++;
          else onPrimary++;
        }
      });
      await Promise.all(callers);
      expect(onPrimary + onReplica).toBe(10_000);
      // Configured shares: 1/4 and 3/4.
      expect(Math.abs(onPrimary - 2500) / 2500).toBeLessThanOrEqual(0.15);
      expect(Math.abs(onReplica - 7500) / 7500).toBeLessThanOrEqual(0.15);
      const hosts = pool.hostStatistics();
      expect(hosts.map((h) => h.reads)).toEqual([onPrimary, onReplica]);
    } finally {
      await pool.close();
    }
  }, 120_000);

  it('sends no reads to a standby further behind than maxReplicaLagMs until it catches up (pg_wal_replay_pause)', async () => {
    const pool = poolOf({ maxReplicaLagMs: 300 });
    const standbyRead = async () =>
      (await pool.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby', [], { readOnly: true })).rows[0]?.standby;
    try {
      await pool.ready();
      await cluster.primary.query("INSERT INTO events (note) VALUES ('before the pause')");
      await until(() => pool.hostStatistics()[1]?.lagMs === 0, 'the replica to catch up');
      expect(await standbyRead()).toBe(true);

      await cluster.replica.query('SELECT pg_wal_replay_pause()');
      try {
        // WAL arrives but is not replayed: the lag grows past the limit.
        await until(async () => {
          await cluster.primary.query("INSERT INTO events (note) VALUES ('while paused')");
          return pool.hostStatistics()[1]?.state === 'lagging';
        }, 'the replica to be seen lagging');
        expect(pool.hostStatistics()[1]?.lagMs).toBeGreaterThan(300);
        expect(pool.hostStatistics()[1]?.readWeight).toBe(0);
        for (let i = 0; i < 50; i++) expect(await standbyRead()).toBe(false);
      } finally {
        await cluster.replica.query('SELECT pg_wal_replay_resume()');
      }
      await until(() => pool.hostStatistics()[1]?.state === 'up', 'the replica to catch up again');
      for (let i = 0; i < 20; i++) expect(await standbyRead()).toBe(true);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('retires write connections whose server turned read-only (25006) and waits for a writable one within the deadline', async () => {
    const pool = poolOf({ primary: { maxConnections: 2 } });
    try {
      await pool.ready();
      const writer = await pool.connect();
      const stalePid = writer.processID;
      writer.release();
      // Every session of the primary now refuses writes, existing ones included (what a demotion looks like to them).
      await cluster.primary.query('ALTER SYSTEM SET default_transaction_read_only = on');
      await cluster.primary.query('SELECT pg_reload_conf()');
      await until(async () => {
        const rows = await cluster.primary.query<{ ro: string }>("SELECT current_setting('default_transaction_read_only') AS ro");
        return rows[0]?.ro === 'on';
      }, 'the reload');
      const started = Date.now();
      const write = pool.query("INSERT INTO events (note) VALUES ('after the switch')", [], { timeoutMs: 15_000 });
      // The connect that replaces the retired connection finds no read-write host: the writer waits.
      await until(() => pool.statistics().retiredWriteConnections >= 1, 'the stale connection to be retired');
      await new Promise((r) => setTimeout(r, 300));
      await cluster.primary.query('ALTER SYSTEM RESET default_transaction_read_only');
      await cluster.primary.query('SELECT pg_reload_conf()');
      await write;
      expect(Date.now() - started).toBeLessThan(15_000);
      const again = await pool.connect();
      try {
        expect(again.processID).not.toBe(stalePid);
        await again.query("INSERT INTO events (note) VALUES ('fresh connection')");
      } finally {
        again.release();
      }
      expect(pool.writeFactory.targetMismatches).toBeGreaterThan(0);
    } finally {
      await cluster.primary.query('ALTER SYSTEM RESET default_transaction_read_only');
      await cluster.primary.query('SELECT pg_reload_conf()');
      await pool.close();
    }
  }, 60_000);

  it('stops sending reads to a standby that goes down and sends them back once it is up again', async () => {
    const pool = poolOf();
    const standbyRead = async () =>
      (await pool.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby', [], { readOnly: true, timeoutMs: 5_000 })).rows[0]
        ?.standby;
    try {
      await pool.ready();
      expect(await standbyRead()).toBe(true);
      await cluster.replica.stop('fast');
      try {
        await until(() => pool.hostStatistics()[1]?.state === 'down', 'the standby to be seen down');
        expect(pool.hostStatistics()[0]?.readFallback).toBe(true);
        for (let i = 0; i < 20; i++) expect(await standbyRead()).toBe(false);
      } finally {
        await cluster.replica.startAgain();
      }
      await until(() => pool.hostStatistics()[1]?.state === 'up', 'the standby to be seen up again');
      for (let i = 0; i < 20; i++) expect(await standbyRead()).toBe(true);
    } finally {
      await pool.close();
    }
  }, 90_000);

  it('refuses bad options with an error naming the field', () => {
    const base = { connectionString: 'postgres://u@h1,h2/db' };
    expect(() => createPgReplicaPool({ ...base, targetSessionAttrs: 'standby' as never })).toThrow(/targetSessionAttrs/);
    expect(() => createPgReplicaPool({ ...base, primaryReadWeight: -1 })).toThrow(InvalidConfigError);
    expect(() => createPgReplicaPool({ ...base, maxReplicaLagMs: -5 })).toThrow(/maxReplicaLagMs/);
    expect(() => createPgReplicaPool({ ...base, replicas: 3 as never })).toThrow(/replicas/);
    expect(() => createPgReplicaPool({ ...base, poolConfig: { maxSize: 3 } as never })).toThrow(/poolConfig.maxSize/);
    expect(() => createPgReplicaPool({ ...base, replicas: { maxConnections: 0 } })).toThrow(/maxConnections/);
    expect(() => createPgReplicaPool({ ...base, primary: { minConnections: 5, maxConnections: 2 } })).toThrow(InvalidConfigError);
  });
});
