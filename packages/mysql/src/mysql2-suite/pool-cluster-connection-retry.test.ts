// Port of sidorares/node-mysql2 test/unit/pool-cluster/test-connection-retry.test.mts: with canRetry,
// a node whose first connection is closed by the server serves the caller on the next attempt.
import { strict } from 'node:assert';
import { describe, it } from 'vitest';
import { createPoolCluster } from './common.js';
import { createServer } from './fake-server.js';

describe('pool cluster retry', () => {
  it('should retry connection on failure', async () => {
    const cluster = createPoolCluster({
      canRetry: true,
      removeNodeErrorCount: 5,
    });

    let connCount = 0;

    const server = createServer();

    server.on('connection', (conn) => {
      connCount += 1;

      if (connCount < 2) {
        conn.close();
      } else {
        conn.serverHandshake({
          serverVersion: 'node.js rocks',
        });
        conn.on('error', () => {
          // server side of the connection
          // ignore disconnects
        });
      }
    });

    const port = await new Promise<number>((resolve, reject) => {
      server.listen(0, (err?: Error) => {
        if (err) return reject(err);
        resolve(server._server.address().port);
      });
    });

    // DIFFERENCE: the node leaves out `SET SESSION session_track_state_change = ON` (trackSessionState: false),
    // which mysql2's test server does not answer (docs/migrating.md, mysql2's PoolCluster).
    cluster.add('MASTER', { port, trackSessionState: false });

    const result = await new Promise<{ clusterId: string }>((resolve, reject) => {
      cluster.getConnection('MASTER', (err, connection) => {
        if (err) return reject(err);
        const clusterId = (connection as unknown as { _clusterId: string })._clusterId;
        connection.release();
        resolve({ clusterId });
      });
    });

    strict.equal(connCount, 2);
    strict.equal(result.clusterId, 'MASTER');

    await new Promise<void>((resolve, reject) => {
      cluster.end((err) => (err ? reject(err) : resolve()));
    });

    await new Promise<void>((resolve) => {
      server.close(() => resolve());
    });
  });
});
