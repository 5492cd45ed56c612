import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { clientAwaitsReadyForQuery, clientEnding, clientHolds, clientNotReadyReason, isSubmittable, sqlTextOf } from './client-state.js';

/** A stand-in with the fields pg 8's Client keeps (only the ones read here). */
function state(fields: Record<string, unknown>): pg.Client {
  return { readyForQuery: true, _ending: false, _ended: false, _queryable: true, _activeQuery: null, _queryQueue: [], ...fields } as never;
}

describe('reading pg.Client readiness', () => {
  it('is ready when idle', () => {
    expect(clientNotReadyReason(state({}))).toBeNull();
    expect(clientEnding(state({}))).toBe(false);
  });

  it('names each reason a client cannot take a query', () => {
    expect(clientNotReadyReason(state({ _ending: true }))).toMatch(/client was ended/);
    expect(clientNotReadyReason(state({ _ended: true }))).toMatch(/client was ended/);
    expect(clientNotReadyReason(state({ _queryable: false }))).toMatch(/can no longer be queried/);
    expect(clientNotReadyReason(state({ _activeQuery: { submit() {} }, readyForQuery: false }))).toMatch(
      /cursor or stream is still active/,
    );
    expect(clientNotReadyReason(state({ _queryQueue: [{}, {}] }))).toBe('2 queries are still queued on it');
    expect(clientNotReadyReason(state({ _sentQueryQueue: [{}] }))).toBe('a query is still queued on it');
    expect(clientNotReadyReason(state({ readyForQuery: false }))).toBe('it is not ready for a query');
  });

  it('reads the public names of older pg when the private fields are absent', () => {
    const cursor = { submit() {} };
    const old = { readyForQuery: false, activeQuery: cursor, queryQueue: [] } as unknown as pg.Client;
    expect(clientNotReadyReason(old)).toMatch(/still active/);
    expect(clientHolds(old, cursor)).toBe(true);
  });

  it('tells whether the client still holds a query, active or queued', () => {
    const a = { submit() {} };
    const b = { submit() {} };
    expect(clientHolds(state({ _activeQuery: a, _queryQueue: [b] }), a)).toBe(true);
    expect(clientHolds(state({ _activeQuery: a, _queryQueue: [b] }), b)).toBe(true);
    expect(clientHolds(state({ _activeQuery: null, _queryQueue: [] }), a)).toBe(false);
  });

  it('recognises submittables by their submit method', () => {
    expect(isSubmittable({ submit() {} })).toBe(true);
    expect(isSubmittable({ text: 'SELECT 1' })).toBe(false);
    expect(isSubmittable('SELECT 1')).toBe(false);
    expect(isSubmittable(null)).toBe(false);
  });

  it('finds the SQL text of a string, a config, a cursor and a pg-query-stream (on its cursor)', () => {
    expect(sqlTextOf('SELECT 1')).toBe('SELECT 1');
    expect(sqlTextOf({ text: 'SELECT 2', values: [] })).toBe('SELECT 2');
    expect(sqlTextOf({ submit() {}, cursor: { text: 'SELECT 3' } })).toBe('SELECT 3');
    expect(sqlTextOf({ submit() {} })).toBeUndefined();
    expect(sqlTextOf(null)).toBeUndefined();
  });

  it('tells a client that only awaits the ReadyForQuery after an error from a busy or ended one', () => {
    expect(clientAwaitsReadyForQuery(state({ readyForQuery: false }))).toBe(true);
    expect(clientAwaitsReadyForQuery(state({}))).toBe(false);
    expect(clientAwaitsReadyForQuery(state({ readyForQuery: false, _activeQuery: { submit() {} } }))).toBe(false);
    expect(clientAwaitsReadyForQuery(state({ readyForQuery: false, _queryQueue: [{}] }))).toBe(false);
    expect(clientAwaitsReadyForQuery(state({ readyForQuery: false, _ending: true }))).toBe(false);
    expect(clientAwaitsReadyForQuery(state({ readyForQuery: false, _queryable: false }))).toBe(false);
  });
});
