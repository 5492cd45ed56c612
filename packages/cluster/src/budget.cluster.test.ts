import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterBudget } from './budget.js';
import { PrivateRedisCluster } from './test-support/redis.js';

// The budget on a real Redis Cluster (three primaries of this test's own): every script of a budget
// runs in the one slot of its {name} hash tag, pub/sub wake-ups cross the nodes, and slots are
// counted exactly as on a single server.

let cluster: PrivateRedisCluster;
let client: Cluster;

beforeAll(async () => {
  cluster = await PrivateRedisCluster.start();
  client = new Cluster([{ host: '127.0.0.1', port: cluster.ports[0] as number }]);
}, 60_000);

afterAll(async () => {
  client?.disconnect();
  await cluster?.stop();
});

const factory = { create: async () => ({}), close: async () => {} };

describe('ClusterBudget on Redis Cluster', () => {
  it('shares one budget between instances, with every key of the budget in one hash slot', async () => {
    const options = { redis: client, name: 'orders-db', maxConnections: 2, retryIntervalMs: 60_000, commandTimeoutMs: 2_000 };
    const a = new ClusterBudget({ ...options, instanceId: 'a' });
    const b = new ClusterBudget({ ...options, instanceId: 'b' });
    const pa = await a.createPool({ maxSize: 2 }, factory);
    const pb = await b.createPool({ maxSize: 2, acquireTimeoutMs: 30_000 }, factory);
    try {
      await Promise.all([a.ready(), b.ready()]);
      expect([a.state, b.state]).toEqual(['connected', 'connected']);
      const held = [await pa.acquire(), await pa.acquire()];
      const waiting = pb.acquire();
      await held[0]?.destroy();
      // retryIntervalMs is a minute: only the pub/sub message (published on another node maybe) wakes b in time.
      const conn = await Promise.race([waiting, new Promise<'late'>((r) => setTimeout(() => r('late'), 10_000))]);
      expect(conn).not.toBe('late');
      (conn as { release(): void }).release();
      const snapshot = await a.inspect();
      expect(snapshot.used).toBe(2);
      expect(snapshot.instances.map((i) => [i.id, i.held]).sort()).toEqual([
        ['a', 1],
        ['b', 1],
      ]);
      const keys = ['inst', 'used', 'held', 'want', 'meta', 'gate', 'l:a', 'l:b'].map((k) => `pool:budget:{orders-db}:${k}`);
      const slots = new Set(await Promise.all(keys.map((k) => cluster.keySlot(k))));
      expect(slots.size).toBe(1);
      held[1]?.release();
    } finally {
      await pa.close();
      await pb.close();
      await a.close();
      await b.close();
    }
  }, 60_000);
});
