import { ClusterBudget } from '@pool/cluster';
import { type ConnectionFactory, ConnectionPool, RecyclingStrategy } from '@pool/core';
import { Redis } from 'ioredis';
import { closeFake, type FakeConnection, openFake } from '../fake.js';
import { measureBatches, type RunOptions } from '../measure.js';
import type { Metric, Scenario } from '../scenario.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const MAX = 10;
const SUBJECTS = ['core', 'core+cluster'] as const;

const METRICS: readonly Metric[] = [
  { key: 'nsPerOp', label: 'ns/op', digits: 0 },
  { key: 'redisCallsPerOp', label: 'Redis calls/op', digits: 4, combine: 'max' },
  { key: 'relMad', label: 'in-run MAD', digits: 3 },
];

/** An ioredis client that counts every command it sends (the budget's scripts go through `call` → `sendCommand`). */
function countingRedis(): { redis: Redis; commands: () => number } {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  let commands = 0;
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((...args: Parameters<Redis['sendCommand']>) => {
    commands++;
    return send(...args);
  }) as Redis['sendCommand'];
  return { redis, commands: () => commands };
}

/**
 * One caller loops acquire + release on `subject`'s pool: with `replace`, every release closes the
 * connection and every acquire opens one (so each operation is one new connection).
 */
async function run(subject: string, opts: RunOptions, replace: boolean): Promise<Record<string, number>> {
  if (!(SUBJECTS as readonly string[]).includes(subject)) throw new Error(`unknown subject '${subject}'`);
  let factory: ConnectionFactory<FakeConnection> = { create: openFake, close: closeFake };
  let budget: ClusterBudget | undefined;
  let counter: ReturnType<typeof countingRedis> | undefined;
  if (subject === 'core+cluster') {
    counter = countingRedis();
    budget = new ClusterBudget({
      redis: counter.redis,
      name: `bench-${process.pid}`,
      keyPrefix: 'pool-bench:',
      maxConnections: 100,
      // No heartbeat falls inside a measurement: every counted call is one the operations caused.
      leaseTtlMs: 600_000,
      heartbeatIntervalMs: 300_000,
    });
    await budget.ready();
    if (budget.state !== 'connected') throw new Error(`the budget could not reach Redis at ${REDIS_URL} (state ${budget.state})`);
    factory = budget.wrap(factory);
  }
  const pool = await ConnectionPool.create(
    { maxSize: MAX, minSize: 0, initialSize: replace ? 1 : MAX },
    factory,
    replace ? { recyclingStrategy: RecyclingStrategy.Replace } : {},
  );
  const detach = budget?.attach(pool);
  const batch = replace ? 100 : 2_000;
  let ops = 0;
  const before = counter?.commands() ?? 0;
  const r = await measureBatches(
    async () => {
      for (let i = 0; i < batch; i++) (await pool.acquire()).release();
      ops += batch;
    },
    batch,
    opts,
  );
  const calls = (counter?.commands() ?? 0) - before;
  await pool.close();
  detach?.();
  await budget?.close();
  counter?.redis.disconnect();
  return { nsPerOp: r.nsPerOp, redisCallsPerOp: ops === 0 ? 0 : calls / ops, relMad: r.relMad };
}

async function redisUnavailable(): Promise<string | null> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3_000, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
    return null;
  } catch (error) {
    return `Redis not reachable at ${REDIS_URL}: ${String(error)}`;
  } finally {
    redis.disconnect();
  }
}

/**
 * Scenario 9a: what a `@pool/cluster` budget costs a borrow of an already-open connection (target: no
 * Redis round trip at all).
 */
export const clusterBorrow: Scenario = {
  id: '9a',
  title: 'Cluster budget: borrow of an open connection',
  description:
    'One caller loops acquire + release over 10 warm connections: @pool/core alone, and with its factory wrapped by a @pool/cluster ClusterBudget on the real Redis. Redis calls/op counts every command the budget’s client sent during the measurement (no heartbeat falls inside it).',
  subjects: SUBJECTS,
  primary: 'nsPerOp',
  metrics: METRICS,
  baseline: 'core',
  unavailable: redisUnavailable,
  run: (subject, opts) => run(subject, opts, false),
};

/**
 * Scenario 9b: what a budget costs a new connection: every release closes the connection and every
 * acquire opens one, so each operation takes a slot (one script call) and gives one back (another).
 */
export const clusterChurn: Scenario = {
  id: '9b',
  title: 'Cluster budget: a new connection per borrow',
  description:
    'One caller loops acquire + release where every release closes the connection (RecyclingStrategy.Replace) and the next acquire opens one (opening and closing cost a microtask each): @pool/core alone, and with a ClusterBudget taking a slot in Redis before each open and giving it back after each close.',
  subjects: SUBJECTS,
  primary: 'nsPerOp',
  metrics: METRICS,
  baseline: 'core',
  unavailable: redisUnavailable,
  run: (subject, opts) => run(subject, opts, true),
};
