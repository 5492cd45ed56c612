import { InvalidArgumentError, InvalidConfigError, type PoolLogger } from '@pool/core';
import type { RowDataPacket } from 'mysql2';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createServer, type FakeServer } from './mysql2-suite/fake-server.js';
import { createMysqlPoolCluster, type MysqlPoolCluster } from './pool-cluster.js';
import { MYSQL_URL } from './test-support/mysql.js';

const clusters: MysqlPoolCluster[] = [];
const servers: FakeServer[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(clusters.splice(0).map((c) => c.end()));
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

function track(c: MysqlPoolCluster): MysqlPoolCluster {
  clusters.push(c);
  return c;
}

/** mysql2's test server that closes every connection at once (a node that is down), counting them. */
async function closingServer(): Promise<{ port: number; connections: () => number }> {
  let count = 0;
  const server = createServer();
  servers.push(server);
  server.on('connection', (conn) => {
    count++;
    conn.close();
  });
  const port = await new Promise<number>((resolve) => server.listen(0, () => resolve(server._server.address().port)));
  return { port, connections: () => count };
}

function clusterIdOf(conn: unknown): string {
  return (conn as { _clusterId: string })._clusterId;
}

describe('createMysqlPoolCluster options', () => {
  it('fills in mysql2 defaults and checks every option, naming it', () => {
    expect(track(createMysqlPoolCluster()).config).toEqual({
      canRetry: true,
      removeNodeErrorCount: 5,
      restoreNodeTimeout: 0,
      defaultSelector: 'RR',
    });
    expect(track(createMysqlPoolCluster({ defaultSelector: 'order' })).config.defaultSelector).toBe('ORDER');
    expect(() => createMysqlPoolCluster({ removeNodeErrorCount: 0 })).toThrow(InvalidConfigError);
    expect(() => createMysqlPoolCluster({ removeNodeErrorCount: 0 })).toThrow(/removeNodeErrorCount/);
    expect(() => createMysqlPoolCluster({ restoreNodeTimeout: -1 })).toThrow(/restoreNodeTimeout/);
    expect(() => createMysqlPoolCluster({ canRetry: 'yes' as never })).toThrow(/canRetry.*true or false/);
    expect(() => createMysqlPoolCluster({ defaultSelector: 'WEIGHTED' as never })).toThrow(/defaultSelector.*'RR', 'RANDOM' or 'ORDER'/);
    expect(() => createMysqlPoolCluster({ removeNodeErrorcount: 3 } as never)).toThrow(/removeNodeErrorcount/);
    expect(() => createMysqlPoolCluster({ logger: { warn() {} } as never })).toThrow(/logger.*debug, info, warn and error/);
  });

  it('refuses bad node names, configs, patterns and selectors, and a second node of the same name', async () => {
    const c = track(createMysqlPoolCluster());
    c.add('a', MYSQL_URL);
    expect(() => c.add('a', MYSQL_URL)).toThrow(/id = "a": is already a node of this cluster/);
    expect(() => c.add('', MYSQL_URL)).toThrow(InvalidArgumentError);
    expect(() => c.add('b', 42 as never)).toThrow(/config = 42: must be a mysql2 pool config or a mysql:\/\/ URL, for node 'b'/);
    expect(() => c.of('a', 'FASTEST' as never)).toThrow(/selector = "FASTEST": must be 'RR', 'RANDOM' or 'ORDER'/);
    expect(() => c.of(42 as never)).toThrow(/pattern = 42: must be a node name/);
    expect(() => c.remove('' as never)).toThrow(/pattern/);
    expect(() => c.getConnection('a', 'RR', 'callback' as never)).toThrow(/callback/);
    await c.end();
    expect(() => c.add('late', MYSQL_URL)).toThrow(/the cluster is ended/);
  });
});

describe('MysqlPoolCluster', () => {
  it('matches patterns: * wildcards, names with regex characters taken literally, RegExps', async () => {
    const c = track(createMysqlPoolCluster({ defaultSelector: 'ORDER' }));
    c.add('db.1', MYSQL_URL);
    c.add('dbx1', MYSQL_URL);
    c.add('replica-2', MYSQL_URL);
    const id = async (pattern: string | RegExp) => clusterIdOf((await c.getConnection(pattern)).connection);
    expect(await id('dbx1')).toBe('dbx1');
    expect(await id('db.1')).toBe('db.1');
    expect(await id('*1')).toBe('db.1');
    expect(await id('replica-*')).toBe('replica-2');
    expect(await id(/^replica-\d$/g)).toBe('replica-2');
    expect(await id(/^replica-\d$/g)).toBe('replica-2'); // a global RegExp's lastIndex does not get in the way
    expect(c.of('db*', 'RR')).toBe(c.of('db*', 'rr'));
    expect(c.of('db*')).not.toBe(c.of('db*', 'RANDOM'));
  });

  it('RANDOM picks with Math.random among the online nodes', async () => {
    const c = track(createMysqlPoolCluster());
    for (const id of ['n0', 'n1', 'n2']) c.add(id, MYSQL_URL);
    const random = vi.spyOn(Math, 'random');
    const picked: string[] = [];
    for (const r of [0.1, 0.5, 0.9, 0.34]) {
      random.mockReturnValueOnce(r);
      const conn = await c.getConnection('n*', 'RANDOM');
      picked.push(clusterIdOf(conn.connection));
      conn.release();
    }
    expect(picked).toEqual(['n0', 'n1', 'n2', 'n1']);
  });

  it('runs query and execute on the cluster itself (on defaultSelector), with callbacks and promises', async () => {
    const c = track(createMysqlPoolCluster());
    c.add('a', MYSQL_URL);
    const [rows] = await c.query<RowDataPacket[]>('SELECT ? AS n', [1]);
    expect(rows).toEqual([{ n: 1 }]);
    const [executed] = await c.execute<RowDataPacket[]>('SELECT ? AS n', [2]);
    expect(executed).toEqual([{ n: 2 }]);
    const viaCallback = await new Promise<unknown>((resolve, reject) =>
      c.query('SELECT 3 AS n', (err, result) => (err ? reject(err) : resolve(result))),
    );
    expect(viaCallback).toEqual([{ n: 3 }]);
    const [promised] = await c.promise().query<RowDataPacket[]>('SELECT 4 AS n');
    expect(promised).toEqual([{ n: 4 }]);
    expect(() => c.promise().query('SELECT 1', (() => {}) as never)).toThrow(/Callback function is not available/);
  });

  it('counts a failed connect once: callers the node refuses while it backs off do not count', async () => {
    const down = await closingServer();
    const c = track(createMysqlPoolCluster({ canRetry: false, removeNodeErrorCount: 100 }));
    // No probe while callers wait (createProbeIntervalMs: null): on a busy machine a caller can still be
    // waiting 150 ms after the failure, and a probe is a real connect that would count.
    c.add('down', {
      port: down.port,
      trackSessionState: false,
      poolConfig: { createRetryDelayMs: 5_000, createRetryMaxDelayMs: 5_000, createProbeIntervalMs: null },
    });
    await expect(c.getConnection('down')).rejects.toMatchObject({ code: 'PROTOCOL_CONNECTION_LOST' });
    expect(c.nodes()[0]?.errorCount).toBe(1);
    // The node's pool backs off: these callers fail at once with the last connect error, without a connect.
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => c.getConnection('down')));
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as NodeJS.ErrnoException).code : 'served'))).toEqual(
      Array(10).fill('PROTOCOL_CONNECTION_LOST'),
    );
    // Without canRetry, a caller asking later is refused too (it does not wait for the next attempt).
    await expect(c.getConnection('down')).rejects.toMatchObject({ code: 'PROTOCOL_CONNECTION_LOST' });
    // mysql2 would count 12 errors (and remove a node with the default removeNodeErrorCount of 5 at once).
    expect(down.connections()).toBe(1);
    expect(c.nodes()[0]?.errorCount).toBe(1);
  });

  it('with canRetry, serves from another node while one is down, and logs its health through the logger', async () => {
    const down = await closingServer();
    const lines: { level: string; message: string }[] = [];
    const at = (level: string) => (message: unknown) => void lines.push({ level, message: String(message) });
    const logger: PoolLogger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
    const c = track(createMysqlPoolCluster({ removeNodeErrorCount: 2, restoreNodeTimeout: 60_000, defaultSelector: 'ORDER', logger }));
    c.add('down', { port: down.port, trackSessionState: false });
    c.add('up', MYSQL_URL);
    const warnings: Error[] = [];
    c.on('warn', (error) => warnings.push(error));
    const served: string[] = [];
    // ORDER tries 'down' first whenever its pool may connect again; its callers are served by 'up'.
    const deadline = performance.now() + 10_000;
    while (c.nodes()[0]?.state !== 'offline' && performance.now() < deadline) {
      const conn = await c.getConnection();
      served.push(clusterIdOf(conn.connection));
      conn.release();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(new Set(served)).toEqual(new Set(['up']));
    expect(warnings).toHaveLength(2);
    expect(down.connections()).toBe(2);
    expect(c.nodes().map((n) => [n.id, n.state, n.errorCount])).toEqual([
      ['down', 'offline', 2],
      ['up', 'online', 0],
    ]);
    expect(c.nodes()[0]?.offlineForMs).toBeGreaterThan(50_000);
    expect(lines).toContainEqual({ level: 'warn', message: 'Node down is offline for 60000 ms after 2 errors' });
    // The node's pool got the cluster's logger: the engine logged the failed connects there.
    expect(c._nodes.down?.pool.pool.logger).toBe(logger);
    expect(lines.some((l) => l.level === 'warn' && l.message.includes('[down] cannot open a connection'))).toBe(true);
  });

  it('keeps an offline node out for exactly restoreNodeTimeout on the monotonic clock, then lets it serve again', async () => {
    // Only the monotonic clock (performance.now, what the cluster and the engine read) is faked: sockets run as usual.
    vi.useFakeTimers({ toFake: ['performance'] });
    try {
      let down = true;
      const server = createServer();
      servers.push(server);
      server.on('connection', (conn) => {
        if (down) return conn.close();
        conn.serverHandshake({ serverVersion: 'node.js rocks' });
        conn.on('error', () => {});
      });
      const port = await new Promise<number>((resolve) => server.listen(0, () => resolve(server._server.address().port)));
      const c = track(createMysqlPoolCluster({ canRetry: false, removeNodeErrorCount: 1, restoreNodeTimeout: 60_000 }));
      const events: string[] = [];
      c.on('offline', (id) => events.push(`offline ${id}`));
      c.on('online', (id) => events.push(`online ${id}`));
      c.add('node', { port, trackSessionState: false });

      await expect(c.getConnection('node')).rejects.toMatchObject({ code: 'PROTOCOL_CONNECTION_LOST' });
      expect(events).toEqual(['offline node']);
      down = false;
      vi.advanceTimersByTime(59_999);
      expect(c.nodes()[0]).toMatchObject({ state: 'offline', offlineForMs: 1 });
      await expect(c.getConnection('node')).rejects.toMatchObject({ code: 'POOL_NONEONLINE' });
      vi.advanceTimersByTime(1);
      expect(c.nodes()[0]).toMatchObject({ state: 'online', offlineForMs: 0 });
      const conn = await c.getConnection('node');
      conn.release();
      expect(events).toEqual(['offline node', 'online node']);
      expect(c.nodes()[0]?.errorCount).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('end() fails callers waiting for a node to retry, ends every node and is idempotent', async () => {
    const down = await closingServer();
    const c = track(createMysqlPoolCluster({ canRetry: true, removeNodeErrorCount: 100 }));
    // No probe while callers wait (createProbeIntervalMs: null): on a busy machine a caller can still be
    // waiting 150 ms after the failure, and a probe is a real connect that would count.
    c.add('down', {
      port: down.port,
      trackSessionState: false,
      poolConfig: { createRetryDelayMs: 5_000, createRetryMaxDelayMs: 5_000, createProbeIntervalMs: null },
    });
    const waiting = c.getConnection('down');
    // The first connect fails; the node backs off and the caller waits for its next attempt.
    while (down.connections() === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const ended = c.end();
    await expect(waiting).rejects.toMatchObject({ message: 'Pool is closed.' });
    await ended;
    await c.end();
    expect(c._closed).toBe(true);
    expect(c._nodes.down?.pool._closed).toBe(true);
    await expect(c.getConnection()).rejects.toMatchObject({ message: 'Pool is closed.' });
  });
});
