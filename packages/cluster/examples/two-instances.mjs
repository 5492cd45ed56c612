// Two application instances sharing one budget of 4 connections through Redis.
//
// Each instance is what one process of your application would run: a ClusterBudget and a pool. They
// share nothing but the budget's keys in Redis, so running them in one process (as here, to keep the
// example short) behaves as two machines would. The connections are in memory; swap the factory for
// pgFactory(process.env.DATABASE_URL) from @pool/pg to use PostgreSQL.
//
// Run: pnpm --filter @pool/cluster build && node packages/cluster/examples/two-instances.mjs
// (REDIS_URL defaults to redis://127.0.0.1:6379)
import { ClusterBudget } from '@pool/cluster';

const redis = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const keyPrefix = process.env.EXAMPLE_KEY_PREFIX ?? 'example:budget:';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let opened = 0;
const factory = {
  create: async () => ({ id: ++opened, query: async () => sleep(20) }),
  close: async () => {},
};

async function startInstance(name) {
  const budget = new ClusterBudget({
    redis,
    keyPrefix,
    name: 'orders-db', // every instance protecting this database uses the same name and limit
    maxConnections: 4,
    instanceId: name,
    leaseTtlMs: 6_000, // a crashed instance's slots come back within 6 s
    retryIntervalMs: 200,
    shrinkHoldMs: 2_000,
  });
  budget.on('state', ({ from, to }) => console.log(`[${name}] budget ${from} -> ${to}`));
  budget.on('shrink', (e) => {
    if (e.direction === 'sent') console.log(`[${name}] asked the others to shrink to their share of ${e.share}`);
    else console.log(`[${name}] shrank for ${e.from}: closed ${e.closed} idle connection(s)`);
  });
  await budget.ready();
  // Each pool may grow to 4 on its own; together they never hold more than the budget's 4.
  const pool = await budget.createPool({ maxSize: 4, acquireTimeoutMs: 5_000 }, factory, { name });
  return { name, budget, pool };
}

async function burst(instance, callers) {
  await Promise.all(Array.from({ length: callers }, () => instance.pool.use((db) => db.query('SELECT 1'))));
}

function show(instance) {
  const s = instance.budget.statistics();
  console.log(
    `[${instance.name}] holds ${s.database.held} slot(s), pool has ${instance.pool.size().total} connection(s); cluster-wide ${s.database.globalUsed}/${s.database.limit} in use by ${s.instances} instance(s)`,
  );
}

const a = await startInstance('instance-a');
const b = await startInstance('instance-b');

// a is busy first and takes the whole budget.
await burst(a, 8);
show(a);

// Now b gets traffic: its first request waits for a slot, asks a (idle, above its fair share of 2) to
// shrink, and is served as soon as a gives slots back. No connection was borrowed through Redis: only
// opening and closing connections talk to it.
await burst(b, 4);
show(a);
show(b);

const snapshot = await a.budget.inspect();
console.log('Redis holds:', snapshot.instances.map((i) => `${i.id}=${i.held}`).join(', '), `(${snapshot.used} in use)`);

await a.pool.close();
await b.pool.close();
await a.budget.close();
await b.budget.close();
console.log('done');
