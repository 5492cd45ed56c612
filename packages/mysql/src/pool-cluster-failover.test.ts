// The PoolCluster on two MariaDB servers of the test's own (never the shared one): the selectors send
// each caller to the server they promise (each server is told apart by its port, `SELECT @@port`), a
// stopped server is taken out after `removeNodeErrorCount` failed connects while its callers are served
// by the other one, and an offline server serves again after `restoreNodeTimeout` once it is back.
import { setTimeout as sleep } from 'node:timers/promises';
import { PrivateMariadb } from '@pool/test-servers';
import type { RowDataPacket } from 'mysql2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMysqlPoolCluster, type MysqlPoolCluster } from './pool-cluster.js';
import type { MysqlPoolNamespace } from './pool-namespace.js';

let a: PrivateMariadb;
let b: PrivateMariadb;

beforeAll(async () => {
  const [first, second] = await Promise.allSettled([PrivateMariadb.start(), PrivateMariadb.start()]);
  if (first.status === 'rejected' || second.status === 'rejected') {
    // Never leave the one that started running.
    await Promise.all([first, second].map((r) => (r.status === 'fulfilled' ? r.value.destroy() : undefined)));
    throw first.status === 'rejected' ? first.reason : (second as PromiseRejectedResult).reason;
  }
  [a, b] = [first.value, second.value];
}, 300_000);

afterAll(async () => {
  await Promise.all([a?.destroy(), b?.destroy()]);
}, 60_000);

const clusters: MysqlPoolCluster[] = [];
function cluster(options: Parameters<typeof createMysqlPoolCluster>[0] = {}): MysqlPoolCluster {
  const c = createMysqlPoolCluster(options);
  c.add('replica-a', { uri: a.url, connectionLimit: 4 });
  c.add('replica-b', { uri: b.url, connectionLimit: 4 });
  clusters.push(c);
  return c;
}
afterAll(async () => {
  await Promise.all(clusters.map((c) => c.end()));
});

/** Borrows through `namespace`, asks the server which port it listens on, and gives the connection back. */
function servedBy(namespace: MysqlPoolNamespace): Promise<{ node: string; port: number }> {
  return new Promise((resolve, reject) => {
    namespace.getConnection((err, conn) => {
      if (err) return reject(err);
      conn.query<RowDataPacket[]>('SELECT @@port AS port', (qerr, rows) => {
        conn.release();
        if (qerr) return reject(qerr);
        resolve({ node: (conn as unknown as { _clusterId: string })._clusterId, port: Number(rows[0]?.port) });
      });
    });
  });
}

/** Stops server `a` and waits until `c`'s pool for it has seen its idle connections go (bounded). */
async function stopA(c: MysqlPoolCluster): Promise<void> {
  await a.stop();
  const pool = c._nodes['replica-a']?.pool;
  const deadline = performance.now() + 10_000;
  while ((pool?.pool.size().idle ?? 0) > 0) {
    if (performance.now() > deadline) throw new Error('the idle connections to the stopped server stayed in the pool');
    await sleep(10);
  }
}

describe('createMysqlPoolCluster on two private MariaDB servers', () => {
  it('RR alternates between the servers, RANDOM spreads evenly, ORDER keeps to the first', async () => {
    const c = cluster();
    const portOf: Record<string, number> = { 'replica-a': a.port, 'replica-b': b.port };

    const rr: string[] = [];
    for (let i = 0; i < 200; i++) {
      const { node, port } = await servedBy(c.of('replica-*', 'RR'));
      expect(port).toBe(portOf[node]); // the node's name is the server that answered
      rr.push(node);
    }
    expect(rr.filter((n, i) => n !== (i % 2 === 0 ? 'replica-a' : 'replica-b'))).toEqual([]);

    const counts: Record<string, number> = { 'replica-a': 0, 'replica-b': 0 };
    const random = c.of('replica-*', 'RANDOM');
    for (let i = 0; i < 1_000; i++) {
      const { node, port } = await servedBy(random);
      expect(port).toBe(portOf[node]);
      counts[node] = (counts[node] ?? 0) + 1;
    }
    // Each server gets half the calls, within ±15 % (500 ± 75; the binomial's standard deviation is 16).
    expect(counts['replica-a']).toBeGreaterThanOrEqual(425);
    expect(counts['replica-a']).toBeLessThanOrEqual(575);

    for (let i = 0; i < 50; i++) expect((await servedBy(c.of('*', 'ORDER'))).port).toBe(a.port);
  }, 120_000);

  it('removes a stopped server after removeNodeErrorCount failed connects, serving its callers from the other', async () => {
    const c = cluster({ removeNodeErrorCount: 3 });
    const warnings: Error[] = [];
    const removed: string[] = [];
    c.on('warn', (error) => warnings.push(error));
    c.on('remove', (id) => removed.push(id));
    const rr = c.of('replica-*', 'RR');
    await servedBy(rr);
    await servedBy(rr); // both nodes have a connection open

    await stopA(c);
    const served: number[] = [];
    const deadline = performance.now() + 60_000;
    while (removed.length === 0 && performance.now() < deadline) served.push((await servedBy(rr)).port);

    expect(removed).toEqual(['replica-a']);
    expect(c._serviceableNodeIds).toEqual(['replica-b']);
    // Every caller was served, all by the running server; each failed connect to the stopped one was a warning.
    expect(new Set(served)).toEqual(new Set([b.port]));
    expect(warnings).toHaveLength(3);
    for (const w of warnings) expect((w as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    // A removed node's pool is ended.
    expect(c.nodes().map((n) => n.id)).toEqual(['replica-b']);

    await a.startAgain();
    // Removed for good (restoreNodeTimeout 0): the server's return changes nothing.
    for (let i = 0; i < 10; i++) expect((await servedBy(rr)).port).toBe(b.port);
  }, 120_000);

  it('takes a stopped server offline, refuses it with POOL_NONEONLINE, and restores it after restoreNodeTimeout', async () => {
    const restoreNodeTimeout = 3_000;
    const c = cluster({ removeNodeErrorCount: 2, restoreNodeTimeout });
    const events: string[] = [];
    c.on('offline', (id) => events.push(`offline ${id}`));
    c.on('online', (id) => events.push(`online ${id}`));
    c.on('remove', (id) => events.push(`remove ${id}`));
    const onlyA = c.of('replica-a');
    expect((await servedBy(onlyA)).port).toBe(a.port);

    await stopA(c);
    // The pool's idle connection went with the server; the next connects fail: two failures, offline.
    const failure = await servedBy(onlyA).catch((error: NodeJS.ErrnoException) => error);
    expect(failure).toMatchObject({ code: 'ECONNREFUSED' });
    expect(events).toEqual(['offline replica-a']);
    expect(c.nodes().find((n) => n.id === 'replica-a')).toMatchObject({ state: 'offline', errorCount: 2 });
    await expect(servedBy(onlyA)).rejects.toMatchObject({ code: 'POOL_NONEONLINE' });
    // The other node serves the namespaces that include it.
    expect((await servedBy(c.of('replica-*', 'ORDER'))).port).toBe(b.port);

    await a.startAgain();
    const offlineForMs = c.nodes().find((n) => n.id === 'replica-a')?.offlineForMs ?? 0;
    await sleep(offlineForMs + 100);
    expect((await servedBy(onlyA)).port).toBe(a.port);
    expect(events).toEqual(['offline replica-a', 'online replica-a']);
    expect(c.nodes().find((n) => n.id === 'replica-a')).toMatchObject({ state: 'online', errorCount: 1 });
    expect((await servedBy(c.of('replica-*', 'ORDER'))).port).toBe(a.port);
  }, 180_000);
});
