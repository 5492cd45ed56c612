import { describe, expect, it } from 'vitest';
import { classifyPgCreateError } from './create-errors.js';
import { createPgPool } from './pool.js';
import { PG_URL } from './test-support/pg.js';

describe('classifyPgCreateError', () => {
  it('calls configuration errors fatal and the rest transient', () => {
    for (const code of ['28P01', '28000', '3D000', '42501', '08004', 'DEPTH_ZERO_SELF_SIGNED_CERT']) {
      expect(classifyPgCreateError(Object.assign(new Error('x'), { code }))).toBe('fatal');
    }
    expect(classifyPgCreateError(new Error('The server does not support SSL connections'))).toBe('fatal');
    for (const code of ['ECONNREFUSED', 'ECONNRESET', '53300', '57P03', 'ENOTFOUND', undefined]) {
      expect(classifyPgCreateError(Object.assign(new Error('x'), { code }))).toBe('transient');
    }
    expect(classifyPgCreateError('not an error')).toBe('transient');
  });

  it('an unknown database fails every waiting caller at once, not after the acquire timeout', async () => {
    const url = new URL(PG_URL);
    url.pathname = '/no_such_database_for_pool_tests';
    const pool = createPgPool({ connectionString: url.toString(), max: 2, connectionTimeoutMillis: 60_000 });
    try {
      const results = await Promise.allSettled([pool.query('SELECT 1'), pool.query('SELECT 1'), pool.query('SELECT 1')]);
      for (const r of results) expect(r).toMatchObject({ status: 'rejected', reason: { code: '3D000' } });
    } finally {
      await pool.end();
    }
  });
});
