import { describe, expect, it } from 'vitest';
import { classify } from './classify.js';

describe('classify', () => {
  it('finds nothing in plain reads and writes', () => {
    for (const sql of [
      'SELECT * FROM users',
      'INSERT INTO t VALUES (?)',
      'UPDATE offsets SET n = n + 1',
      'DELETE FROM t',
      'DO 1',
      "SELECT 'SET x'",
    ]) {
      expect([sql, classify(sql)]).toEqual([sql, { session: false, transaction: false, routine: false, schema: false }]);
    }
  });

  it('recognises session changes, also after comments and in multi-statement text', () => {
    for (const sql of [
      "SET time_zone = '+00:00'",
      'set @a = 1',
      'SET NAMES utf8mb4',
      'USE other_db',
      'LOCK TABLES t WRITE',
      "SELECT GET_LOCK('job', 10)",
      'SELECT @n := @n + 1 FROM t',
      'SELECT id INTO @last FROM t LIMIT 1',
      'CREATE TEMPORARY TABLE tmp (id INT)',
      'PREPARE s FROM "SELECT 1"',
      'HANDLER t OPEN',
      '/* app */ -- note\n SET sql_mode = ""',
      'SELECT 1; SET @b = 2',
    ]) {
      expect([sql, classify(sql).session]).toEqual([sql, true]);
    }
  });

  it('recognises statements that open a transaction', () => {
    for (const sql of ['BEGIN', 'START TRANSACTION READ ONLY', "XA START 'x'", 'SET autocommit = 0', 'SET SESSION autocommit=OFF']) {
      expect([sql, classify(sql).transaction]).toEqual([sql, true]);
    }
    expect(classify('COMMIT').transaction).toBe(false);
  });

  it('flags stored procedure calls, whose effects only session tracking reports', () => {
    expect(classify('CALL refresh_totals()')).toEqual({ session: false, transaction: false, routine: true, schema: false });
  });

  it('flags a change of the default database, which COM_RESET_CONNECTION keeps', () => {
    for (const sql of ['USE other_db', 'use `x`', '/* hint */ USE a', 'SELECT 1; USE b']) {
      expect([sql, classify(sql)]).toEqual([sql, { session: true, transaction: false, routine: false, schema: true }]);
    }
    expect(classify("SELECT 'USE x'").schema).toBe(false);
  });
});
