// Port of sidorares/node-mysql2 test/unit/pool-cluster/test-restore-events.test.mts: going offline
// and coming back online emit 'offline' and 'online' once each, with the node's name.
import { strict } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'vitest';
import { createPoolCluster } from './common.js';
import { createServer } from './fake-server.js';

describe('pool cluster restore events', () => {
  it('should emit offline and online events', async () => {
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

    let offlineEvents = 0;
    let onlineEvents = 0;

    const offlinePromise = new Promise<string>((resolve) => {
      cluster.on('offline', (id: string) => {
        offlineEvents++;
        resolve(id);
      });
    });

    const onlinePromise = new Promise<{ id: string; connCount: number }>((resolve) => {
      cluster.on('online', (id: string) => {
        onlineEvents++;
        resolve({ id, connCount });
      });
    });

    type MysqlError = Error & { code?: string | undefined; fatal?: boolean | undefined };

    // First attempt - triggers 2 failures and node removal
    const err1 = await new Promise<MysqlError | null>((resolve) => {
      cluster.getConnection('MASTER', (err) => resolve(err));
    });

    strict.ok(err1);
    strict.equal(err1?.code, 'PROTOCOL_CONNECTION_LOST');
    strict.equal(err1?.fatal, true);
    strict.equal(connCount, 2);

    // Verify offline event fired
    const offlineId = await offlinePromise;
    strict.equal(offlineId, 'MASTER');

    // Second attempt - node is offline
    const err2 = await new Promise<MysqlError | null>((resolve) => {
      cluster.getConnection('MASTER', (err) => resolve(err));
    });

    strict.ok(err2);
    strict.equal(err2?.code, 'POOL_NONEONLINE');

    // Bring server back online
    offline = false;

    // Wait for restore timeout
    await sleep(1500);

    // Third attempt - should succeed and trigger online event
    await new Promise<void>((resolve, reject) => {
      cluster.getConnection('MASTER', (err, conn) => {
        if (err) return reject(err);
        conn.release();
        resolve();
      });
    });

    // Verify online event fired
    const onlineResult = await onlinePromise;
    strict.equal(onlineResult.id, 'MASTER');
    strict.equal(onlineResult.connCount, 3);

    // Verify events fired exactly once
    strict.equal(offlineEvents, 1);
    strict.equal(onlineEvents, 1);

    await new Promise<void>((resolve, reject) => {
      cluster.end((err) => (err ? reject(err) : resolve()));
    });

    await new Promise<void>((resolve) => {
      server.close(() => resolve());
    });
  });
});
