// Port of sidorares/node-mysql2 test/unit/pool-cluster/test-remove-by-name.test.mts: `remove(id)`
// takes a node out; once none matches, the namespace fails with POOL_NOEXIST; removing again is harmless.
import { strict } from 'node:assert';
import { describe, it } from 'vitest';
import { createPoolCluster } from './common.js';
import { createServer } from './fake-server.js';

describe('pool cluster remove by name', () => {
  it('should remove nodes by name', async () => {
    const cluster = createPoolCluster();
    const server = createServer();

    server.on('connection', (conn) => {
      conn.serverHandshake({
        serverVersion: 'node.js rocks',
      });
      conn.on('error', () => {
        // server side of the connection
        // ignore disconnects
      });
    });

    const port = await new Promise<number>((resolve) => {
      server.listen(0, () => {
        resolve(server._server.address().port);
      });
    });

    // DIFFERENCE: the nodes leave out `SET SESSION session_track_state_change = ON` (trackSessionState: false),
    // which mysql2's test server does not answer (docs/migrating.md, mysql2's PoolCluster).
    cluster.add('SLAVE1', { port, trackSessionState: false });
    cluster.add('SLAVE2', { port, trackSessionState: false });

    const pool = cluster.of('SLAVE*', 'ORDER');

    const result1 = await new Promise<{ clusterId: string }>((resolve, reject) => {
      pool.getConnection((err, conn) => {
        if (err) return reject(err);
        const clusterId = (conn as unknown as { _clusterId: string })._clusterId;
        conn.release();
        resolve({ clusterId });
      });
    });

    strict.strictEqual(result1.clusterId, 'SLAVE1');
    cluster.remove('SLAVE1');

    const result2 = await new Promise<{ clusterId: string }>((resolve, reject) => {
      pool.getConnection((err, conn) => {
        if (err) return reject(err);
        const clusterId = (conn as unknown as { _clusterId: string })._clusterId;
        conn.release();
        resolve({ clusterId });
      });
    });

    strict.strictEqual(result2.clusterId, 'SLAVE2');
    cluster.remove('SLAVE2');

    const err = await new Promise<(Error & { code?: string | undefined }) | null>((resolve) => {
      pool.getConnection((_err) => resolve(_err));
    });

    strict.ok(err);
    strict.equal(err?.code, 'POOL_NOEXIST');

    cluster.remove('SLAVE1');
    cluster.remove('SLAVE2');

    await new Promise<void>((resolve, reject) => {
      cluster.end((err) => (err ? reject(err) : resolve()));
    });

    await new Promise<void>((resolve) => {
      server.close(() => resolve());
    });
  });
});
