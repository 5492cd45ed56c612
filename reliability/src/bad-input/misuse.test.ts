import {
  AcquireAbortedError,
  ConnectionPool,
  ConnectionReleasedError,
  InvalidArgumentError,
  PoolClosedError,
  type PoolError,
  type PooledConnection,
} from '@pool/core';
import { PartitionManager, PartitionType, RoutingStrategy } from '@pool/partitioning';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ControlledConnection, ControlledFactory } from '../support/controlled-factory.js';

/**
 * Misuse by the application: each gets a clear PoolError with a stable code, and the pool stays
 * consistent (counters add up, nothing is lost, handed out twice or left open).
 */

let factory: ControlledFactory;
let pool: ConnectionPool<ControlledConnection>;

beforeEach(() => {
  vi.useFakeTimers();
  factory = new ControlledFactory();
  pool = ConnectionPool.open({ maxSize: 2, acquireTimeoutMs: 1_000, closeTimeoutMs: 500 }, factory, { name: 'misused' });
});

afterEach(async () => {
  const closing = pool.close();
  await vi.advanceTimersByTimeAsync(2_000);
  await closing;
  expect(factory.open.size, 'connections left open').toBe(0);
  expect(factory.doubleCloses).toBe(0);
  vi.useRealTimers();
});

function consistent(): void {
  const s = pool.statistics();
  const size = pool.size();
  expect(s.connectionsCreated - s.connectionsDestroyed).toBe(size.total);
  expect(factory.open.size).toBe(size.total);
  expect(size.total + size.pending).toBeLessThanOrEqual(pool.config.maxSize);
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('misuse', () => {
  it('release twice: ConnectionReleasedError, and the connection is not handed out twice', async () => {
    const conn = await pool.acquire();
    conn.release();
    const error = caught(() => conn.release());
    expect(error).toBeInstanceOf(ConnectionReleasedError);
    expect((error as PoolError).code).toBe('ERR_POOL_CONNECTION_RELEASED');
    expect((error as Error).message).toMatch(/released/);
    const a = await pool.acquire();
    const b = await pool.acquire();
    expect(a.connection).not.toBe(b.connection);
    expect(pool.statistics().released).toBe(1);
    a.release();
    b.release();
    consistent();
  });

  it('use after release: every accessor throws ConnectionReleasedError, so a stale reference never reaches the next borrower', async () => {
    const conn = await pool.acquire();
    const raw = conn.connection;
    conn.release();
    const next = await pool.acquire();
    expect(next.connection).toBe(raw);
    expect(caught(() => conn.connection)).toBeInstanceOf(ConnectionReleasedError);
    expect(caught(() => conn.connectionMut())).toBeInstanceOf(ConnectionReleasedError);
    expect(caught(() => conn.destroy())).toBeInstanceOf(ConnectionReleasedError);
    expect(
      caught(() => {
        conn.label = 'stale';
      }),
    ).toBeInstanceOf(ConnectionReleasedError);
    // The stale handle's release did not end the new borrow.
    expect(next.released).toBe(false);
    next.release();
    consistent();
  });

  it('release after destroy, and destroy after release: ConnectionReleasedError, nothing closed twice', async () => {
    const a = await pool.acquire();
    await a.destroy(new Error('broken'));
    expect(caught(() => a.release())).toBeInstanceOf(ConnectionReleasedError);
    const b = await pool.acquire();
    b.release();
    expect(caught(() => b.destroy())).toBeInstanceOf(ConnectionReleasedError);
    await vi.advanceTimersByTimeAsync(10);
    expect(factory.doubleCloses).toBe(0);
    consistent();
  });

  it('release to the wrong pool: InvalidArgumentError naming both pools, and the borrow goes on', async () => {
    const otherFactory = new ControlledFactory();
    const other = ConnectionPool.open({ maxSize: 1 }, otherFactory, { name: 'other' });
    try {
      const conn = await pool.acquire();
      const error = caught(() => other.release(conn));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toContain("'misused'");
      expect((error as Error).message).toContain("'other'");
      expect(caught(() => other.destroy(conn))).toBeInstanceOf(InvalidArgumentError);
      expect(conn.released).toBe(false);
      expect(other.statistics().released).toBe(0);
      pool.release(conn);
      expect(conn.released).toBe(true);
      // Not a PooledConnection at all.
      expect(caught(() => pool.release({ id: 1 } as unknown as PooledConnection<ControlledConnection>))).toBeInstanceOf(
        InvalidArgumentError,
      );
      consistent();
    } finally {
      await other.close();
    }
  });

  it('acquire after close: PoolClosedError at once, also through use() and a partition manager', async () => {
    const closing = pool.close();
    await expect(pool.acquire()).rejects.toBeInstanceOf(PoolClosedError);
    await expect(pool.use(() => 1)).rejects.toBeInstanceOf(PoolClosedError);
    await closing;
    await expect(pool.acquire({ timeoutMs: 10 })).rejects.toMatchObject({ code: 'ERR_POOL_CLOSED' });
    expect(caught(() => pool.suspend())).toBeInstanceOf(PoolClosedError);
    expect(caught(() => pool.resize({ maxSize: 5 }))).toBeInstanceOf(PoolClosedError);
    expect(caught(() => pool.evictIdle())).toBeInstanceOf(PoolClosedError);
    // close() is idempotent.
    expect(pool.close()).toBe(closing);
  });

  it('close during acquire: waiters reject with PoolClosedError, a connection being created is closed when it lands', async () => {
    factory.delayMs = 300; // connects take a while
    const waiting = [pool.acquire(), pool.acquire(), pool.acquire()].map((p) =>
      p.then(
        () => 'served',
        (e: unknown) => e,
      ),
    );
    await vi.advanceTimersByTimeAsync(10);
    expect(pool.size().pending).toBe(2);
    const closing = pool.close();
    await vi.advanceTimersByTimeAsync(0);
    for (const w of waiting) expect(await w).toBeInstanceOf(PoolClosedError);
    await vi.advanceTimersByTimeAsync(1_000);
    await closing;
    expect(pool.state).toBe('closed');
    expect(factory.open.size).toBe(0);
  });

  it('close while a borrow is out: the borrower keeps it until closeTimeoutMs, then its handle stops working', async () => {
    const conn = await pool.acquire();
    const closing = pool.close();
    await vi.advanceTimersByTimeAsync(100);
    expect(conn.connection.closeCalls).toBe(0);
    await vi.advanceTimersByTimeAsync(500);
    await closing;
    expect(caught(() => conn.connection)).toBeInstanceOf(ConnectionReleasedError);
    expect(caught(() => conn.release())).toBeInstanceOf(ConnectionReleasedError);
    expect(pool.statistics().reclaimed).toBe(1);
  });

  it('release after close: the connection is closed, not reused, and release does not throw', async () => {
    const conn = await pool.acquire();
    const closing = pool.close();
    expect(() => conn.release()).not.toThrow();
    await vi.advanceTimersByTimeAsync(10);
    await closing;
    expect(factory.open.size).toBe(0);
  });

  it('an aborted signal, an abort while waiting, and a signal aborted after the hand-over', async () => {
    await expect(pool.acquire({ signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AcquireAbortedError);
    const a = await pool.acquire();
    const b = await pool.acquire();
    const controller = new AbortController();
    const waiting = pool.acquire({ signal: controller.signal });
    controller.abort(new Error('user left'));
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_POOL_ACQUIRE_ABORTED' });
    expect(pool.size().waiting).toBe(0);
    a.release();
    const late = new AbortController();
    const c = await pool.acquire({ signal: late.signal });
    late.abort(); // too late: the borrow stands
    expect(c.released).toBe(false);
    c.release();
    b.release();
    consistent();
  });

  it('use() with a callback that throws or is not a function: the error is rethrown, the connection returned', async () => {
    await expect(pool.use(() => Promise.reject(new Error('query failed')))).rejects.toThrow('query failed');
    await expect(pool.use(42 as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    // The callback released the connection itself, then threw: nothing is released twice.
    await expect(
      pool.use((_c, pooled) => {
        pooled.release();
        throw new Error('after release');
      }),
    ).rejects.toThrow('after release');
    const s = pool.statistics();
    expect(s.acquired).toBe(s.released);
    expect(s.releasedWithError).toBe(1);
    consistent();
  });

  it('a listener that throws is contained and reported as an error event, never breaking the pool', async () => {
    const reported: unknown[] = [];
    pool.on('error', ({ error }) => reported.push(error));
    pool.on('acquire', () => {
      throw new Error('listener bug');
    });
    const conn = await pool.acquire();
    conn.release();
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatchObject({ code: 'ERR_POOL_LISTENER' });
    consistent();
  });

  it('reclaim of an unknown id, and of a connection that is idle: false, nothing changes', async () => {
    const conn = await pool.acquire();
    conn.release();
    expect(pool.reclaim(conn.id)).toBe(false);
    expect(pool.reclaim(12345)).toBe(false);
    expect(pool.reclaim(Number.NaN)).toBe(false);
    consistent();
  });

  it('partition manager misuse: unknown tenant, removed partition, closed manager, duplicate id, a second manager', async () => {
    await pool.close();
    const partitioned = ConnectionPool.open({ maxSize: 2, enablePartitioning: true }, factory);
    pool = partitioned;
    const manager = new PartitionManager({ pool: partitioned, routing: RoutingStrategy.TenantBased });
    manager.createPartition('a', PartitionType.Tenant('a'), { maxConnections: 1 });
    await expect(manager.acquire({ tenant: 'nobody' })).rejects.toMatchObject({ code: 'ERR_POOL_PARTITION', reason: 'unrouted' });
    expect(caught(() => manager.createPartition('a', PartitionType.Tenant('b')))).toMatchObject({ code: 'ERR_POOL_INVALID_CONFIG' });
    expect(caught(() => new PartitionManager({ pool: partitioned, routing: RoutingStrategy.TenantBased }))).toMatchObject({
      code: 'ERR_POOL_INVALID_CONFIG',
    });
    const removing = manager.removePartition('a');
    await expect(manager.acquire({ tenant: 'a' })).rejects.toMatchObject({ code: 'ERR_POOL_PARTITION' });
    await removing;
    await manager.close();
    await expect(manager.acquire({ tenant: 'a' })).rejects.toBeInstanceOf(PoolClosedError);
    consistent();
  });
});
