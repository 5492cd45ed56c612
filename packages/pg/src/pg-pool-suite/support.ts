/**
 * Test support for the port of node-postgres's pool tests (packages/pg-pool/test and
 * packages/pg/test/integration/connection-pool): `Pool` stands for pg-pool's `new Pool(options)`
 * and makes a `createPgPool` pool on the test server instead; `withDone` is mocha's `done`.
 */
import { afterEach, vi } from 'vitest';
import { createPgPool, type PgPool, type PgPoolOptions } from '../pool.js';
import { SERVER } from './server.js';

export { SERVER };

const made: PgPool[] = [];

afterEach(async () => {
  vi.useRealTimers();
  const pools = made.splice(0).filter((p) => !p.ending);
  // Upstream never ends some pools (mocha exits); a test's last fire-and-forget query may still run:
  // let it finish rather than cut it off, which would reject its promise with nobody listening.
  const busy = (p: PgPool): boolean => p._clients.some((c) => (c as unknown as { readyForQuery?: boolean }).readyForQuery === false);
  for (let i = 0; i < 100 && pools.some(busy); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  await Promise.all(pools.map((p) => p.end().catch(() => {})));
});

/** pg-pool's `new Pool(options)`: a `createPgPool` pool on the test server (ended after the test if the test does not). */
export function Pool(options: PgPoolOptions & Record<string, unknown> = {}): PgPool {
  const pool = createPgPool({ ...SERVER, ...options });
  made.push(pool);
  return pool;
}

/** mocha's `done`: `done()` passes, `done(err)` fails the test. */
export type Done = (err?: unknown) => void;

/** Runs a mocha-style `function (done) {...}` test. */
export function withDone(fn: (done: Done) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    fn((err?: unknown) => (err ? reject(err) : resolve()));
  });
}

/** pg-pool's `wait(ms)`. */
export const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
