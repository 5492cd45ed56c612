// Type-checked under node10, node16 (CJS and ESM) and bundler resolution: the members users call are
// typed (not `any`), on the main entries and on subpaths.
import { ConnectionPool, type ConnectionTimeoutError, isPoolError, PoolConfig, type PoolError } from '@pool/core';
import { DriverPool } from '@pool/core/adapter';
import { createPgPool, type PgPool } from '@pool/pg';
import { SimulatedFactory } from '@pool/testkit';

type IsAny<T> = 0 extends 1 & T ? true : false;
type NotAny<T> = IsAny<T> extends true ? never : T;

export async function tinyPool(): Promise<number> {
  const pool = await ConnectionPool.create(PoolConfig.builder().maxSize(2).build(), new SimulatedFactory({ respond: () => [{ n: 1 }] }));
  try {
    const { rows } = await pool.use((conn) => conn.query('SELECT 1'));
    return rows.length;
  } catch (error) {
    if (isPoolError(error, 'ERR_POOL_CONNECTION_TIMEOUT')) {
      const e: PoolError = error;
      return (e as ConnectionTimeoutError).timeoutMs;
    }
    throw error;
  } finally {
    await pool.close();
  }
}

export function endPg(pool: PgPool): Promise<void> {
  const end: NotAny<PgPool['end']> = pool.end;
  const isDriverPool: boolean = pool instanceof DriverPool;
  return isDriverPool ? end.call(pool) : pool.end();
}

export const makePg: NotAny<typeof createPgPool> = createPgPool;
