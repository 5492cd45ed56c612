import { ConnectionCreateError, ConnectionPool, ConnectionTimeoutError, isPoolError, type PoolOptions } from '@pool/core';
import { type PgConnection, pgFactory } from '@pool/pg';
import { FaultProxy } from '@pool/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { isClearError, sleep } from '../support/load.js';
import { report } from '../support/report.js';

/**
 * Network faults without root tricks: the testkit's FaultProxy sits between the pool and the shared
 * PostgreSQL and adds latency, stalls (black-holes) traffic, resets connections or refuses new ones.
 * Only connections through our own proxy are affected; the server itself is never touched.
 */

const PG_URL = new URL(process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
const cleanups: (() => Promise<unknown>)[] = [];
let counter = 0;

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function proxy(): Promise<FaultProxy> {
  const p = await FaultProxy.start({ target: { host: PG_URL.hostname, port: Number(PG_URL.port || 5432) } });
  cleanups.push(() => p.close());
  return p;
}

function urlThrough(p: FaultProxy): string {
  const u = new URL(PG_URL.toString());
  u.hostname = p.host;
  u.port = String(p.port);
  return u.toString();
}

type Config = Parameters<typeof ConnectionPool.create>[0];

async function poolThrough(
  p: FaultProxy,
  config: Config,
  queryTimeoutMs = 2_000,
  options: PoolOptions = {},
): Promise<ConnectionPool<PgConnection>> {
  const factory = pgFactory({
    connectionString: urlThrough(p),
    application_name: `rel_net_${process.pid}_${++counter}`,
    query_timeout: queryTimeoutMs,
  });
  const pool = await ConnectionPool.create({ closeTimeoutMs: 2_000, ...(config as object) }, factory, options);
  pool.on('error', () => {});
  cleanups.push(() => pool.close());
  return pool;
}

/** Settles `promise` and says how long it took (real ms) and how. */
async function timed<T>(promise: Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const start = performance.now();
  try {
    const value = await promise;
    return { ms: performance.now() - start, value };
  } catch (error) {
    return { ms: performance.now() - start, error };
  }
}

// Scheduling slack on a busy 2-core machine: a wait that ends within its bound plus this is bounded;
// a black-holed wait without a bound never ends.
const SLACK = 3_000;

describe('network faults through FaultProxy', () => {
  it('added latency: calls are slower but all succeed, and nothing times out that should not', async () => {
    const p = await proxy();
    const pool = await poolThrough(p, { minSize: 2, maxSize: 4, acquireTimeoutMs: 5_000 });
    p.latencyMs = 30;
    const results = await Promise.all(Array.from({ length: 8 }, () => timed(pool.use((c) => c.query('SELECT 1')))));
    expect(results.map((r) => r.error)).toEqual(Array(8).fill(undefined));
    expect(pool.statistics().acquireFailures).toBe(0);
  });

  it('latency above validationTimeoutMs: validation fails, the connection is replaced, the caller is still served', async () => {
    const p = await proxy();
    const pool = await poolThrough(p, {
      minSize: 1,
      maxSize: 2,
      acquireTimeoutMs: 5_000,
      validateOnAcquire: true,
      validationTimeoutMs: 100,
    });
    p.latencyMs = 150; // a round trip now takes 300 ms
    const r = await timed(pool.use((c) => c.query('SELECT 1')));
    expect(r.error).toBeUndefined();
    const s = pool.statistics();
    expect(s.validationFailures).toBeGreaterThanOrEqual(1);
    expect(s.destroyedByReason.validation).toBeGreaterThanOrEqual(1);
  });

  it('stalled network with validateOnAcquire: validation and create timeouts bound every acquire by its deadline, then the pool heals', async () => {
    const p = await proxy();
    const pool = await poolThrough(p, {
      minSize: 2,
      maxSize: 3,
      acquireTimeoutMs: 1_500,
      validateOnAcquire: true,
      validationTimeoutMs: 300,
      createTimeoutMs: 500,
      createRetryMaxDelayMs: 500,
    });
    p.stall();
    const results = await Promise.all(Array.from({ length: 5 }, () => timed(pool.acquire())));
    for (const r of results) {
      expect(r.error, 'no connection can be had through a black hole').toBeInstanceOf(ConnectionTimeoutError);
      expect(r.ms, 'bounded by acquireTimeoutMs').toBeLessThan(1_500 + SLACK);
      // The cause says why: a validation that timed out or a connect that did not finish.
      expect(isPoolError((r.error as ConnectionTimeoutError).cause), String((r.error as Error).message)).toBe(true);
    }
    report('stalled network, validateOnAcquire', {
      waitedMs: results.map((r) => Math.round(r.ms)),
      errors: results.map((r) => String((r.error as Error).message)),
      validationFailures: pool.statistics().validationFailures,
    });
    expect(pool.statistics().validationFailures).toBeGreaterThanOrEqual(1);
    p.forward();
    const healed = await timed(pool.use((c) => c.query('SELECT 1'), { timeoutMs: 10_000 }));
    expect(healed.error).toBeUndefined();
  });

  it('stalled network without validation: the stalled connection is handed out, and the query timeout bounds the call', async () => {
    const p = await proxy();
    const pool = await poolThrough(p, { minSize: 1, maxSize: 2, acquireTimeoutMs: 1_500, createTimeoutMs: 500, resetTimeoutMs: 300 }, 500);
    p.stall();
    const r = await timed(pool.use((c) => c.query('SELECT 1')));
    report('stalled network, no validation', { ms: Math.round(r.ms), error: String(r.error) });
    expect(isClearError(r.error), String(r.error)).toBe(true);
    expect(r.ms).toBeLessThan(500 + 1_500 + SLACK);
    p.forward();
    const healed = await timed(pool.use((c) => c.query('SELECT 1'), { timeoutMs: 10_000 }));
    expect(healed.error).toBeUndefined();
    const s = pool.statistics();
    expect(s.acquired).toBe(s.released);
  });

  it('connections reset by the network: idle ones are retired at once and the next caller gets a fresh one', async () => {
    const p = await proxy();
    const pool = await poolThrough(p, { minSize: 3, maxSize: 3, acquireTimeoutMs: 5_000 });
    expect(p.killAll()).toBe(3);
    const end = performance.now() + 5_000;
    while (pool.statistics().destroyedByReason.broken < 3 && performance.now() < end) await sleep(20);
    expect(pool.statistics().destroyedByReason.broken).toBe(3);
    const r = await timed(pool.use((c) => c.query('SELECT 1')));
    expect(r.error).toBeUndefined();
    expect(pool.statistics().acquireFailures).toBe(0);
  });

  it('server unreachable (connections refused and cut): callers time out with the connect error as cause, retries back off, then it heals', async () => {
    const p = await proxy();
    const pool = await poolThrough(p, {
      minSize: 2,
      maxSize: 4,
      acquireTimeoutMs: 1_000,
      createRetryDelayMs: 100,
      createRetryMaxDelayMs: 800,
    });
    const createErrors: number[] = [];
    pool.on('createError', () => createErrors.push(performance.now()));
    p.refuse();
    p.killAll();
    // The resets reach the idle clients asynchronously; once they have, no connection is left.
    const killedBy = performance.now() + 5_000;
    while (pool.size().total > 0 && performance.now() < killedBy) await sleep(20);
    expect(pool.size().total).toBe(0);
    const start = performance.now();
    const results = await Promise.all(Array.from({ length: 4 }, () => timed(pool.acquire())));
    for (const r of results) r.value?.release();
    for (const r of results) {
      expect(r.error).toBeInstanceOf(ConnectionTimeoutError);
      expect(r.ms).toBeLessThan(1_000 + SLACK);
      expect(isClearError((r.error as ConnectionTimeoutError).cause), 'the cause is the connect error').toBe(true);
    }
    await sleep(2_000);
    const elapsedS = (performance.now() - start) / 1000;
    // Backoff: at most a round of maxSize attempts per retry delay (100 ms doubling up to 800 ms);
    // a pool without backoff retries a refused connect hundreds of times a second.
    report('server unreachable', {
      createErrors: createErrors.length,
      seconds: Number(elapsedS.toFixed(1)),
      error: String(results[0]?.error),
    });
    expect(createErrors.length / elapsedS, 'failed connects per second').toBeLessThan(4 * 10);
    p.forward();
    const healed = await timed(pool.use((c) => c.query('SELECT 1'), { timeoutMs: 10_000 }));
    expect(healed.error).toBeUndefined();
  });

  it('database down at pool start: create() rejects with ConnectionCreateError naming the cause and leaves nothing open', async () => {
    const p = await proxy();
    p.refuse();
    const factory = pgFactory({ connectionString: urlThrough(p), application_name: `rel_net_${process.pid}_${++counter}` });
    const r = await timed(ConnectionPool.create({ minSize: 2, maxSize: 4, createTimeoutMs: 2_000 }, factory));
    report('down at start', { ms: Math.round(r.ms), error: String((r.error as Error).message) });
    expect(r.error).toBeInstanceOf(ConnectionCreateError);
    expect((r.error as Error).message).toMatch(/initial connections/);
    expect(isClearError((r.error as ConnectionCreateError).cause)).toBe(true);
    expect(p.connections).toBe(0);
  });

  it('database down at pool start with initialSize 0: the pool starts, refills with backoff, and fills once the database is back', async () => {
    const p = await proxy();
    p.refuse();
    const pool = await poolThrough(p, { minSize: 2, maxSize: 4, initialSize: 0, createRetryDelayMs: 100, createRetryMaxDelayMs: 400 });
    let attempts = 0;
    pool.on('createError', () => attempts++);
    await sleep(1_500);
    expect(attempts, 'the refill keeps trying').toBeGreaterThan(0);
    report('down at start, initialSize 0', { attemptsIn1500ms: attempts });
    expect(attempts / 1.5, 'failed connects per second while down').toBeLessThan(2 * 10);
    expect(pool.size().total).toBe(0);
    p.forward();
    const end = performance.now() + 10_000;
    while (pool.size().idle < 2 && performance.now() < end) await sleep(50);
    expect(pool.size().idle, 'filled to minSize without a restart').toBe(2);
  });
});
