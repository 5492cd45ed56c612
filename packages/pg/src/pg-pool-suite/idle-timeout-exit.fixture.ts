// Port of node-postgres packages/pg-pool/test/idle-timeout-exit.js: spawned by idle-timeout.test.ts
// (through tsx), it must let the process exit by itself.
import { createPgPool } from '../pool.js';
import { SERVER } from './server.js';

const allowExitOnIdle = process.env.ALLOW_EXIT_ON_IDLE === '1';

const pool = createPgPool({
  ...SERVER,
  maxLifetimeSeconds: 2,
  idleTimeoutMillis: 200,
  ...(allowExitOnIdle ? { allowExitOnIdle: true } : {}),
});
pool.query('SELECT NOW()', () => {
  console.log('completed first');
  // Upstream starts the second query 50 ms after the first one; here 50 ms after the first one
  // completed, so the two lines come in the same order on a slow machine too.
  setTimeout(() => {
    pool.query('SELECT * from generate_series(0, 1000)', () => console.log('completed second'));
  }, 50);
});
pool.on('remove', () => {
  console.log('removed');
});
