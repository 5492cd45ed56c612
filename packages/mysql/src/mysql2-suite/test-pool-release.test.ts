// Port of sidorares/node-mysql2 test/integration/test-pool-release.test.mts: query() and execute() in
// every calling form, failing statements included, give their connection back.
import { strict } from 'node:assert';
import { afterAll, describe, it } from 'vitest';
import { createPool } from './common.js';

describe('Pool Release', () => {
  const pool = createPool({
    idleTimeout: 15000,
  });
  afterAll(() => pool.end());

  it('should release connections back to the pool', async () => {
    let allConnectionsLength!: number;
    let freeConnectionsLength!: number;
    let connectionQueueLength!: number;

    await new Promise<void>((resolve) => {
      pool.query('test sql', () => {
        pool.query('test sql', [], () => {
          pool.query('test sql', [], () => {
            pool.query('test sql', [], () => {
              pool.query('test sql', () => {
                pool.query('test sql').on('error', () => {
                  pool.query('test sql', () => {
                    pool.execute('test sql', () => {
                      pool.execute('test sql', () => {
                        pool.execute('test sql', [], () => {
                          pool.execute('test sql', () => {
                            pool.execute('test sql', () => {
                              // TODO change order events are fires so that connection is released before callback
                              // that way this number will be more deterministic
                              allConnectionsLength = pool._allConnections.length;
                              // on some setups with small CLIENT_INTERACTION_TIMEOUT value connection might be closed by the time we get here, hence "one or zero"
                              freeConnectionsLength = pool._freeConnections.length;
                              connectionQueueLength = pool._connectionQueue.length;
                              resolve();
                            });
                          });
                        });
                      });
                    });
                  });
                });
              });
            });
          });
        });
      });
    });

    strict(allConnectionsLength < 3);
    strict(freeConnectionsLength <= 1);
    strict(connectionQueueLength === 0);
  });
});
