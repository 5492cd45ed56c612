// Port of sidorares/node-mysql2 test/unit/pool-cluster/test-restore.test.mts: a node that fails
// removeNodeErrorCount (2) connects goes offline (POOL_NONEONLINE) and serves again after
// restoreNodeTimeout, once its server is back.
import { strict } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'vitest';
import { createPoolCluster } from './common.js';
import { createServer } from './fake-server.js';

describe('pool cluster restore', () => {
  it('should restore node after timeout', async () => {
    const cluster = createPoolCluster({
      canRetry: true,
      removeNodeErrorCount: 2,
      restoreNodeTimeout: 1000,
    });

    let connCount = 0;
    let offline = true;

    const server = createServer();

    server.on('connection', (conn) => {
      connCount += 1;

      if (offline) {
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

    const port = await new Promise<number>((resolve) => {
      server.listen(0, () => {
        resolve(server._server.address().port);
      });
    });

    // DIFFERENCE: the node leaves out `SET SESSION session_track_state_change = ON` (trackSessionState: false),
    // which mysql2's test server does not answer (docs/migrating.md, mysql2's PoolCluster).
    cluster.add('MASTER', { port, trackSessionState: false });

    type MysqlError = Error & { code?: string | undefined; fatal?: boolean | undefined };

    // First attempt - expected to fail (offline)
    const err1 = await new Promise<MysqlError | null>((resolve) => {
      cluster.getConnection('MASTER', (err) => resolve(err));
    });

    strict.ok(err1);
    strict.equal(err1?.code, 'PROTOCOL_CONNECTION_LOST');
    strict.equal(err1?.fatal, true);
    strict.equal(connCount, 2);

    // Second attempt - expected to fail (node removed)
    const err2 = await new Promise<MysqlError | null>((resolve) => {
      cluster.getConnection('MASTER', (err) => resolve(err));
    });

    strict.ok(err2);
    strict.equal(err2?.code, 'POOL_NONEONLINE');

    (cluster._nodes.MASTER as { errorCount: number }).errorCount = 3;
    offline = false;

    // Wait for restore timeout
    await sleep(1500);

    // Third attempt - should succeed
    await new Promise<void>((resolve, reject) => {
      cluster.getConnection('MASTER', (err, conn) => {
        if (err) return reject(err);
        conn.release();
        resolve();
      });
    });

    await new Promise<void>((resolve, reject) => {
      cluster.end((err) => (err ? reject(err) : resolve()));
    });

    await new Promise<void>((resolve) => {
      server.close(() => resolve());
    });
  });
});
