// Port of sidorares/node-mysql2 test/unit/pool-cluster/test-connection-error-remove.test.mts: with
// removeNodeErrorCount 1, a node whose server closes every connection is removed after its first
// failure ('remove'), and the caller is served by the next node.
import { strict } from 'node:assert';
import { describe, it } from 'vitest';
import { createPoolCluster } from './common.js';
import { createServer } from './fake-server.js';

describe('pool cluster error remove', () => {
  it('should remove node on connection error', async () => {
    const cluster = createPoolCluster({
      removeNodeErrorCount: 1,
    });

    let connCount = 0;

    const server1 = createServer();
    const server2 = createServer();

    server1.on('connection', (conn) => {
      connCount += 1;
      conn.close();
    });

    server2.on('connection', (conn) => {
      connCount += 1;
      conn.serverHandshake({
        serverVersion: 'node.js rocks',
      });
      // mysql2's test ends the process (process.exit()) before its server sees the disconnect; this one
      // ignores disconnects, as mysql2's other cluster tests do.
      conn.on('error', () => {});
    });

    const port1 = await new Promise<number>((resolve, reject) => {
      server1.listen(0, (err?: Error) => {
        if (err) return reject(err);
        resolve(server1._server.address().port);
      });
    });

    const port2 = await new Promise<number>((resolve, reject) => {
      server2.listen(0, (err?: Error) => {
        if (err) return reject(err);
        resolve(server2._server.address().port);
      });
    });

    // DIFFERENCE: the node leaves out `SET SESSION session_track_state_change = ON` (trackSessionState: false),
    // which mysql2's test server does not answer (docs/migrating.md, mysql2's PoolCluster).
    cluster.add('SLAVE1', { port: port1, trackSessionState: false });
    cluster.add('SLAVE2', { port: port2, trackSessionState: false });

    const pool = cluster.of('*', 'ORDER');
    let removedNodeId: string | number | undefined;

    cluster.on('remove', (nodeId) => {
      removedNodeId = nodeId;
    });

    const result = await new Promise<{ clusterId: string }>((resolve, reject) => {
      pool.getConnection((err, connection) => {
        if (err) return reject(err);
        const clusterId = (connection as unknown as { _clusterId: string })._clusterId;
        connection.release();
        resolve({ clusterId });
      });
    });

    strict.equal(connCount, 2);
    strict.equal(result.clusterId, 'SLAVE2');
    strict.equal(removedNodeId, 'SLAVE1');
    strict.deepEqual(cluster._serviceableNodeIds, ['SLAVE2']);

    await new Promise<void>((resolve, reject) => {
      cluster.end((err) => (err ? reject(err) : resolve()));
    });
    // mysql2's test ends with process.exit() (its server keeps the process up); this one closes the servers.
    await new Promise<void>((resolve) => server1.close(() => resolve()));
    await new Promise<void>((resolve) => server2.close(() => resolve()));
  });
});
