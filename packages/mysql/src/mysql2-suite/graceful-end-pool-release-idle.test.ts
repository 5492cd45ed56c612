// Port of sidorares/node-mysql2 test/integration/graceful-end/test-pool-release-idle-with-default-config.test.mts
// and ...-with-graceful-end-config.test.mts (issue #3148): whether the idle connections the pool closes
// are sent COM_QUIT ('Add command: Quit' in mysql2's debug log).
import { strict } from 'node:assert';
import { describe, it } from 'vitest';
import type { MysqlPoolConnection as PoolConnection } from '../pool-connection.js';
import { createPool } from './common.js';

/** Runs the scenario of both mysql2 tests: two connections released, closed as idle, then the pool ends. */
async function quitSentForIdleConnections(gracefulEnd: boolean | undefined): Promise<boolean> {
  const pool = createPool({
    connectionLimit: 2,
    maxIdle: 1,
    idleTimeout: 500,
    debug: true,
    ...(gracefulEnd === undefined ? {} : { gracefulEnd }),
  } as never);

  let quitCommandReceived = false;
  const originalLog = console.log;
  const originalTrace = console.trace;
  console.log = (message: string) => {
    if (message === 'Add command: Quit') {
      quitCommandReceived = true;
    }
  };
  console.trace = () => {}; // mysql2's debug mode traces every packet; only the log is read
  try {
    await new Promise<void>((resolve) => {
      pool.getConnection((_err1: Error | null, connection1: PoolConnection) => {
        pool.getConnection((_err2: Error | null, connection2: PoolConnection) => {
          connection1.release();
          connection2.release();

          setTimeout(() => {
            pool.end(() => resolve());
          }, 2000);
        });
      });
    });
  } finally {
    console.log = originalLog;
    console.trace = originalTrace;
  }
  return quitCommandReceived;
}

describe('Pool release idle with default config', () => {
  // DIFFERENCE: mysql2 closes an idle connection by dropping its socket unless `gracefulEnd: true`;
  // ours always says goodbye with COM_QUIT (the server then counts no aborted client and logs no
  // "Aborted connection" warning). docs/migrating.md, "Idle connections are closed with COM_QUIT".
  // mysql2's test, as it is, fails against createMysqlPool:
  it.fails('should not send quit command for idle connections', async () => {
    const quitCommandReceived = await quitSentForIdleConnections(undefined);
    strict(!quitCommandReceived, 'quit command should not have been received');
  }, 20_000);

  // ... and ours:
  it('sends COM_QUIT to the idle connections it closes, without gracefulEnd too (our behaviour)', async () => {
    strict(await quitSentForIdleConnections(undefined), 'quit command should have been received');
  }, 20_000);
});

describe('Pool release idle with gracefulEnd config', () => {
  it('should send quit command for idle connections', async () => {
    const quitCommandReceived = await quitSentForIdleConnections(true);
    strict(quitCommandReceived, 'quit command should have been received');
  }, 20_000);
});
