// What a cluster budget costs, on this machine, against the Redis at REDIS_URL:
//   - per new connection: a pool whose every borrow opens and closes a connection (maxSize 1,
//     conn.destroy() after each borrow), with the budget's wrapped factory against the same factory
//     unwrapped; the difference is the slot taken before the open and given back after the close;
//   - per borrow of an open connection: a tight acquire/release loop on an open connection, wrapped
//     and unwrapped, and the Redis commands the budget sent meanwhile (counted on its ioredis client:
//     the target is zero).
// The factory is in memory, so the figures are the budget's cost alone (a real connect to PostgreSQL
// takes milliseconds more, both ways).
//
// Run after building: pnpm --filter @pool/core build && pnpm --filter @pool/cluster build
//   node packages/cluster/scripts/overhead.mjs [rounds]
// Rounds alternate between the variants so machine noise spreads over all of them; medians are printed.
import { ConnectionPool } from '@pool/core';
import { Redis } from 'ioredis';
import { ClusterBudget } from '../dist/index.js';

const rounds = Number(process.argv[2] ?? 5);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const CREATES = 500;
const BORROWS = 200_000;
const factory = { create: async () => ({}), close: async () => {} };

// Counts every command the budget sends on its client (its subscriber is a separate connection).
const client = new Redis(REDIS_URL);
let commands = 0;
const call = client.call.bind(client);
client.call = (...args) => {
  commands++;
  return call(...args);
};
const budget = new ClusterBudget({
  redis: client,
  name: 'overhead',
  keyPrefix: `overhead:${process.pid}:`,
  maxConnections: 10,
  leaseTtlMs: 600_000, // no heartbeat during a measurement
});
await budget.ready();

async function perCreate(wrapped) {
  const pool = await ConnectionPool.create({ maxSize: 1, initialSize: 0 }, wrapped ? budget.wrap(factory) : factory);
  for (let i = 0; i < 50; i++) await (await pool.acquire()).destroy();
  const start = performance.now();
  for (let i = 0; i < CREATES; i++) await (await pool.acquire()).destroy();
  const us = ((performance.now() - start) * 1000) / CREATES;
  await pool.close();
  return us;
}

async function perBorrow(wrapped) {
  const pool = await ConnectionPool.create({ maxSize: 1, initialSize: 1 }, wrapped ? budget.wrap(factory) : factory);
  for (let i = 0; i < 20_000; i++) (await pool.acquire()).release();
  const before = commands;
  const start = performance.now();
  for (let i = 0; i < BORROWS; i++) (await pool.acquire()).release();
  const ns = ((performance.now() - start) * 1e6) / BORROWS;
  const sent = commands - before;
  await pool.close();
  return { ns, sent };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = { createBare: [], createBudget: [], borrowBare: [], borrowBudget: [], commands: [] };
for (let r = 0; r < rounds; r++) {
  results.createBare.push(await perCreate(false));
  results.createBudget.push(await perCreate(true));
  results.borrowBare.push((await perBorrow(false)).ns);
  const b = await perBorrow(true);
  results.borrowBudget.push(b.ns);
  results.commands.push(b.sent);
}

const createBare = median(results.createBare);
const createBudget = median(results.createBudget);
const borrowBare = median(results.borrowBare);
const borrowBudget = median(results.borrowBudget);
console.log(`rounds: ${rounds}, Redis: ${REDIS_URL}, node ${process.version}`);
console.log(
  `new connection (open + close)   bare ${createBare.toFixed(1)} µs   with budget ${createBudget.toFixed(1)} µs   extra ${(createBudget - createBare).toFixed(1)} µs`,
);
console.log(
  `borrow of an open connection    bare ${borrowBare.toFixed(0)} ns   with budget ${borrowBudget.toFixed(0)} ns   extra ${(borrowBudget - borrowBare).toFixed(0)} ns`,
);
console.log(`Redis commands during ${BORROWS} borrows (per round): ${results.commands.join(', ')}`);

await budget.close();
// The budget's keys under this run's prefix (what is left expires in 7 days; do not wait for that).
const leftovers = await client.keys(`overhead:${process.pid}:*`);
if (leftovers.length > 0) await client.del(...leftovers);
client.disconnect();
if (results.commands.some((n) => n !== 0)) {
  console.error('the budget sent Redis commands while only open connections were borrowed');
  process.exitCode = 1;
}
