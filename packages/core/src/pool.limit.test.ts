import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError, PoolClosedError } from './errors.js';
import type { PoolEventMap } from './events.js';
import { ConnectionPool } from './pool.js';
import type { PooledConnection } from './pooled-connection.js';
import { type FakeConnection, FakeFactory, flush } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function expectConsistent(pool: ConnectionPool<FakeConnection>, factory: FakeFactory): void {
  const size = pool.size();
  const stats = pool.statistics();
  expect(size.total).toBe(factory.open.size);
  expect(stats.connectionsCreated - stats.connectionsDestroyed).toBe(size.total);
  expect(factory.doubleCloses).toBe(0);
  const raws = pool.borrowed().map((c) => c.connection);
  expect(new Set(raws).size).toBe(raws.length);
}

describe('pool.setLimit()', () => {
  it('closes idle connections beyond a lowered limit and shows the limit in size(), statistics() and an event', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 1, maxSize: 10, initialSize: 6 }, factory);
    const events: PoolEventMap['limit'][] = [];
    pool.on('limit', (e) => events.push(e));
    const reasons: string[] = [];
    pool.on('destroy', (e) => reasons.push(e.reason));
    expect(pool.limit).toBeNull();
    expect(pool.size().limit).toBe(10);

    pool.setLimit(4, 'latency rose');
    expect(pool.limit).toBe(4);
    expect(pool.size()).toMatchObject({ total: 4, idle: 4, limit: 4 });
    expect(pool.statistics()).toMatchObject({ limit: 4, totalConnections: 4 });
    expect(pool.statistics().destroyedByReason.limit).toBe(2);
    expect(reasons).toEqual(['limit', 'limit']);
    expect(events).toEqual([{ previous: null, limit: 4, reason: 'latency rose' }]);

    pool.setLimit(4, 'same again'); // no change, no event
    pool.setLimit(null);
    expect(events).toEqual([
      { previous: null, limit: 4, reason: 'latency rose' },
      { previous: 4, limit: null, reason: undefined },
    ]);
    expect(pool.size().limit).toBe(10);
    expectConsistent(pool, factory);
    await pool.close();
  });

  it('never revokes a borrow: new borrows wait, connections beyond the limit close as they come back', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ maxSize: 5, initialSize: 4 }, factory);
    const held = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire(), pool.acquire()]);
    pool.setLimit(2);
    expect(held.every((h) => !h.released)).toBe(true);
    expect(pool.size()).toMatchObject({ total: 4, active: 4, limit: 2 });

    const waiter = pool.acquire();
    await flush();
    expect(pool.size()).toMatchObject({ waiting: 1, pending: 0 });
    expect(factory.createCalls).toBe(4);

    (held[0] as PooledConnection<FakeConnection>).release(); // 4 open > 2: closed
    (held[1] as PooledConnection<FakeConnection>).release(); // 3 open > 2: closed
    await flush();
    expect(pool.size()).toMatchObject({ total: 2, waiting: 1 });
    (held[2] as PooledConnection<FakeConnection>).release(); // 2 open: handed to the waiter
    const served = await waiter;
    expect(pool.size()).toMatchObject({ total: 2, active: 2, waiting: 0 });
    served.release();
    (held[3] as PooledConnection<FakeConnection>).release();
    expect(pool.statistics().destroyedByReason.limit).toBe(2);
    expectConsistent(pool, factory);
    await pool.close();
  });

  it('opens connections for the waiters as soon as the limit is raised', async () => {
    const factory = new FakeFactory();
    factory.createDelayMs = 10;
    const pool = ConnectionPool.open({ maxSize: 6 }, factory);
    pool.setLimit(1);
    const waiters = Array.from({ length: 4 }, () => pool.acquire());
    await flush();
    expect(pool.size()).toMatchObject({ pending: 1, waiting: 4 });
    pool.setLimit(4);
    expect(pool.size()).toMatchObject({ pending: 4 });
    await vi.advanceTimersByTimeAsync(10);
    const conns = await Promise.all(waiters);
    expect(new Set(conns.map((c) => c.id)).size).toBe(4);
    for (const c of conns) c.release();
    expectConsistent(pool, factory);
    await pool.close();
  });

  it('closes a connection that opens after the limit was lowered instead of lending it beyond the limit', async () => {
    const factory = new FakeFactory();
    factory.createDelayMs = 50;
    const pool = ConnectionPool.open({ maxSize: 4 }, factory);
    const waiters = Array.from({ length: 3 }, () => pool.acquire());
    await flush();
    expect(pool.size().pending).toBe(3);
    pool.setLimit(1);
    await vi.advanceTimersByTimeAsync(50);
    expect(pool.size()).toMatchObject({ total: 1, active: 1, waiting: 2 });
    const first = await waiters[0];
    first?.release();
    const second = await waiters[1];
    second?.release();
    const third = await waiters[2];
    third?.release();
    expect(pool.statistics().destroyedByReason.limit).toBe(2);
    expectConsistent(pool, factory);
    await pool.close();
  });

  it('does not hand over a connection validated while the limit dropped below the connections open', async () => {
    const factory = new FakeFactory();
    factory.validateDelayMs = 20;
    const pool = await ConnectionPool.create({ maxSize: 3, initialSize: 2, validateOnAcquire: true }, factory);
    const first = pool.acquire();
    await vi.advanceTimersByTimeAsync(20);
    const held = await first;
    const validating = pool.acquire();
    await flush();
    pool.setLimit(1); // 2 open (one borrowed, one being validated) > 1
    await vi.advanceTimersByTimeAsync(20);
    expect(pool.size()).toMatchObject({ total: 1, waiting: 1 });
    held.release();
    await vi.advanceTimersByTimeAsync(20);
    const conn = await validating;
    expect(conn.id).toBe(held.id);
    conn.release();
    expectConsistent(pool, factory);
    await pool.close();
  });

  it('moves the limit into the new bounds on resize() and says so', async () => {
    const pool = await ConnectionPool.create({ minSize: 0, maxSize: 10, initialSize: 0 }, new FakeFactory());
    const events: PoolEventMap['limit'][] = [];
    pool.on('limit', (e) => events.push(e));
    pool.setLimit(8);
    pool.resize({ maxSize: 5 });
    expect(pool.limit).toBe(5);
    pool.resize({ maxSize: 20, minSize: 6 });
    expect(pool.limit).toBe(6);
    expect(pool.size().limit).toBe(6);
    expect(events.slice(1)).toEqual([
      { previous: 8, limit: 5, reason: 'resize' },
      { previous: 5, limit: 6, reason: 'resize' },
    ]);
    await pool.close();
  });

  it.each([
    [0, 'below minSize'],
    [11, 'above maxSize'],
    [2.5, 'not an integer'],
    ['4', 'a string'],
    [Number.NaN, 'NaN'],
  ])('rejects the limit %s (%s), naming the bounds, and leaves the pool as it was', async (limit, _why) => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 1, maxSize: 10, initialSize: 3 }, factory);
    pool.setLimit(5);
    const err = (() => {
      try {
        pool.setLimit(limit as number);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toContain('between minSize (1) and maxSize (10)');
    expect(pool.limit).toBe(5);
    expect(pool.size()).toMatchObject({ total: 3, limit: 5 });
    await pool.close();
  });

  it('rejects a reason that is not a string, and a closed pool', async () => {
    const pool = await ConnectionPool.create({ maxSize: 4, initialSize: 0 }, new FakeFactory());
    expect(() => pool.setLimit(2, 42 as unknown as string)).toThrow(InvalidArgumentError);
    expect(pool.limit).toBeNull();
    await pool.close();
    expect(() => pool.setLimit(2)).toThrow(PoolClosedError);
  });
});

type Op =
  | { kind: 'acquire'; timeoutMs: number }
  | { kind: 'release'; pick: number; destroy: boolean }
  | { kind: 'limit'; value: number | null }
  | { kind: 'wait'; ms: number };

const MAX = 5;
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('acquire' as const), timeoutMs: fc.integer({ min: 5, max: 200 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat(), destroy: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('limit' as const), value: fc.option(fc.integer({ min: 1, max: MAX }), { nil: null }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 60 }) }) },
);

describe('the limit, as a property', () => {
  it('never lends a connection beyond the limit, and leaves at most the limit open once borrows settle', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), fc.boolean(), async (ops, validating) => {
        vi.clearAllTimers();
        const factory = new FakeFactory();
        factory.createDelayMs = 7;
        factory.validateDelayMs = 3;
        const pool = ConnectionPool.open({ minSize: 1, maxSize: MAX, validateOnAcquire: validating }, factory);
        const held: PooledConnection<FakeConnection>[] = [];
        const overLimit: string[] = [];
        pool.on('acquire', () => {
          // Counted at the moment of lending, this borrow included.
          const borrowed = pool.borrowed().length;
          if (borrowed > pool.size().limit) overLimit.push(`${borrowed} borrowed > limit ${pool.size().limit}`);
        });
        let settledCount = 0;
        let acquires = 0;
        for (const o of ops) {
          if (o.kind === 'acquire') {
            acquires++;
            pool.acquire({ timeoutMs: o.timeoutMs }).then(
              (c) => {
                held.push(c);
                settledCount++;
              },
              () => {
                settledCount++;
              },
            );
          } else if (o.kind === 'release' && held.length > 0) {
            const [c] = held.splice(o.pick % held.length, 1);
            if (c !== undefined) {
              if (o.destroy) void c.destroy();
              else c.release();
            }
          } else if (o.kind === 'limit') {
            pool.setLimit(o.value);
          } else if (o.kind === 'wait') {
            await vi.advanceTimersByTimeAsync(o.ms);
          }
          await vi.advanceTimersByTimeAsync(0);
        }
        for (const c of held.splice(0)) c.release();
        await vi.advanceTimersByTimeAsync(250); // every acquire is past its deadline: all settle
        for (const c of held.splice(0)) c.release();
        await vi.advanceTimersByTimeAsync(50);
        expect(overLimit).toEqual([]);
        expect(settledCount).toBe(acquires);
        expect(pool.size().active).toBe(0);
        expect(pool.size().total + pool.size().pending).toBeLessThanOrEqual(pool.size().limit);
        expectConsistent(pool, factory);
        await pool.close();
        expect(factory.open.size).toBe(0);
      }),
      { numRuns: 60, seed: Number(process.env.FC_SEED ?? 42) },
    );
  });
});
