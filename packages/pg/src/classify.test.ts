import { describe, expect, it } from 'vitest';
import { classify } from './classify.js';

describe('classify', () => {
  it.each([
    "SET application_name = 'x'",
    'set search_path to app',
    'SET SESSION statement_timeout = 1000',
    'SET ROLE reader',
    'RESET ALL',
    'LISTEN jobs',
    'UNLISTEN *',
    "LOAD 'auto_explain'",
    'DISCARD TEMP',
    'CREATE TEMP TABLE t (id int)',
    'create temporary table t (id int)',
    'CREATE LOCAL TEMPORARY VIEW v AS SELECT 1',
    'CREATE OR REPLACE TEMP VIEW v AS SELECT 1',
    'SELECT * INTO TEMP t2 FROM t',
    'DECLARE c CURSOR WITH HOLD FOR SELECT 1',
    "SELECT set_config('search_path', 'app', false)",
    'SELECT pg_advisory_lock(42)',
    'SELECT pg_try_advisory_lock(1, 2)',
    '-- a comment\nSET x.y = 1',
    '/* leading */ LISTEN a',
    'SELECT 1; SET a.b = 2',
  ])('sees a session change in %j', (sql) => {
    expect(classify(sql).session).toBe(true);
  });

  it.each([
    'SELECT 1',
    "UPDATE users SET name = 'x' WHERE id = 1",
    'INSERT INTO t SELECT * FROM u',
    'SET LOCAL statement_timeout = 100',
    'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE',
    'SET CONSTRAINTS ALL DEFERRED',
    'DECLARE c CURSOR FOR SELECT 1',
    'SELECT pg_advisory_xact_lock(1)',
    'CREATE TABLE settings (id int)',
    'SELECT * INTO archive FROM t',
    'BEGIN',
    'COMMIT',
  ])('sees no session change in %j', (sql) => {
    expect(classify(sql).session).toBe(false);
  });

  it('tells statement changes apart', () => {
    expect(classify('PREPARE p AS SELECT 1')).toEqual({ session: true, prepares: true, deallocates: false });
    expect(classify('DEALLOCATE p')).toEqual({ session: true, prepares: false, deallocates: true });
    expect(classify('DISCARD ALL')).toEqual({ session: true, prepares: false, deallocates: true });
    expect(classify('DISCARD TEMP')).toEqual({ session: true, prepares: false, deallocates: false });
  });
});
