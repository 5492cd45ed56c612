// Port of sidorares/node-mysql2 test/integration/test-pool.test.mts: the pool's escaping helpers, on
// the pool, on its promise() wrapper, and on the pool made by mysql2/promise's createPool.
import { strict } from 'node:assert';
import { afterAll, describe, it } from 'vitest';
import { createMysqlPool } from '../pool.js';

const poolConfig = {}; // config: { connectionConfig: {} };

const pool = createMysqlPool(poolConfig);
afterAll(() => pool.end());

describe('Pool methods tests', () => {
  it('escape', () => {
    strict.equal(pool.escape(123), '123', 'escape method works correctly');
  });

  it('escapeId', () => {
    strict.equal(pool.escapeId('table name'), '`table name`', 'escapeId method works correctly');
  });

  it('format', () => {
    const params = ['table name', 'thing'];
    strict.equal(
      pool.format('SELECT a FROM ?? WHERE b = ?', params),
      "SELECT a FROM `table name` WHERE b = 'thing'",
      'format method works correctly',
    );
  });
});

const poolDotPromise = pool.promise();

describe('Pool.promise() methods tests', () => {
  it('escape', () => {
    strict.equal(poolDotPromise.escape(123), '123', 'promise escape method works correctly');
  });

  it('escapeId', () => {
    strict.equal(poolDotPromise.escapeId('table name'), '`table name`', 'promise escapeId method works correctly');
  });

  it('format', () => {
    const params = ['table name', 'thing'];
    strict.equal(
      poolDotPromise.format('SELECT a FROM ?? WHERE b = ?', params),
      "SELECT a FROM `table name` WHERE b = 'thing'",
      'promise format method works correctly',
    );
  });
});

// mysql.createPoolPromise(poolConfig) is mysql2/promise's createPool: createPool(config).promise().
const promisePool = createMysqlPool(poolConfig).promise();
afterAll(() => promisePool.end());

describe('PromisePool methods tests', () => {
  it('escape', () => {
    strict.equal(promisePool.escape(123), '123', 'PromisePool escape method works correctly');
  });

  it('escapeId', () => {
    strict.equal(promisePool.escapeId('table name'), '`table name`', 'PromisePool escapeId method works correctly');
  });

  it('format', () => {
    const params = ['table name', 'thing'];
    strict.equal(
      promisePool.format('SELECT a FROM ?? WHERE b = ?', params),
      "SELECT a FROM `table name` WHERE b = 'thing'",
      'PromisePool format method works correctly',
    );
  });
});
