// Measures, on this machine, what monitoring costs on the uncontended acquire/release path
// (a tight `await pool.acquire(); conn.release()` loop on a one-connection pool):
//   - bare: no monitor;
//   - monitor, not timing: a PoolMonitor between sampling periods (the default borrowTiming: 0.02
//     spends 98% of the time like this): no listener runs on this path at all;
//   - monitor, timing: a PoolMonitor timing borrows (borrowTiming: 'all', or inside a sampling
//     period): the pool reads the clock twice per borrow and emits a 'release' event;
//   - captureStacks: the pool option that records where each borrow was acquired (for leak reports);
// and what reading a captured stack costs (it is formatted on first read, once per leak report).
// Run after building:
//   pnpm --filter @pool/core build && pnpm --filter @pool/monitoring build
//   node packages/monitoring/scripts/measure-overhead.mjs [rounds]
// Rounds alternate between the variants so machine noise spreads over all of them; medians are printed.
import { ConnectionPool } from '@pool/core';
import { PoolMonitor } from '../dist/index.js';

const rounds = Number(process.argv[2] ?? 7);
const OPS = 300_000;
const factory = { create: async () => ({}), close: async () => {} };
const random = Math.random;

async function run(variant) {
  const pool = await ConnectionPool.create({ minSize: 1, maxSize: 1, initialSize: 1 }, factory, {
    captureStacks: variant === 'captureStacks',
  });
  let monitor = null;
  if (variant === 'monitorIdle') {
    Math.random = () => 0.999_999; // the first sampling period starts seconds from now: outside this run
    monitor = new PoolMonitor(pool);
    Math.random = random;
  } else if (variant === 'monitorTiming') monitor = new PoolMonitor(pool, { borrowTiming: 'all' });
  for (let i = 0; i < 50_000; i++) (await pool.acquire()).release();
  const start = performance.now();
  for (let i = 0; i < OPS; i++) (await pool.acquire()).release();
  const ns = ((performance.now() - start) * 1e6) / OPS;
  monitor?.close();
  await pool.close();
  return ns;
}

async function stackRead() {
  const pool = await ConnectionPool.create({ minSize: 1, maxSize: 1, initialSize: 1 }, factory, { captureStacks: true });
  const N = 20_000;
  let elapsed = 0;
  let chars = 0;
  for (let i = 0; i < N; i++) {
    const conn = await pool.acquire();
    const t = performance.now();
    chars += conn.stack?.length ?? 0;
    elapsed += performance.now() - t;
    conn.release();
  }
  await pool.close();
  return { ns: (elapsed * 1e6) / N, chars: chars / N };
}

const variants = ['bare', 'monitorIdle', 'monitorTiming', 'captureStacks'];
const labels = { bare: 'bare', monitorIdle: 'monitor, not timing', monitorTiming: 'monitor, timing', captureStacks: 'captureStacks' };
const results = Object.fromEntries(variants.map((v) => [v, []]));
for (let r = 0; r < rounds; r++) for (const v of variants) results[v].push(await run(v));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const m = Object.fromEntries(variants.map((v) => [v, median(results[v])]));
console.log(`node ${process.version}, ${rounds} rounds of ${OPS} uncontended acquire/release, medians`);
for (const v of variants) {
  const slower = v === 'bare' ? '' : `+${(m[v] - m.bare).toFixed(0)} ns (${(((m[v] - m.bare) / m.bare) * 100).toFixed(1)}%)`;
  console.log(`${labels[v].padEnd(20)} ${m[v].toFixed(0).padStart(6)} ns/op  ${(1e3 / m[v]).toFixed(2)} M ops/s  ${slower}`);
}
const fraction = 0.02;
const steady = (1 - fraction) * m.monitorIdle + fraction * m.monitorTiming;
console.log(
  `default monitor (borrowTiming 0.02), steady state: ${steady.toFixed(0)} ns/op, ${(((steady - m.bare) / m.bare) * 100).toFixed(1)}% over bare`,
);
const read = await stackRead();
console.log(`reading a captured stack (once per leak report): ${(read.ns / 1000).toFixed(1)} µs for ${read.chars.toFixed(0)} chars`);
