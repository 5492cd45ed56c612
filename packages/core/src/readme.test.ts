import diagnostics_channel from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type AcquireTrace,
  AgingPolicy,
  type ConnectionFactory,
  ConnectionPool,
  ConnectionTimeoutError,
  ConnectionValidator,
  type CreateContext,
  PoolChannel,
  PoolConfig,
  PoolExhaustedError,
  RecyclingStrategy,
  type ReleaseMessage,
  ValidationFailedError,
} from './index.js';

/**
 * Every TypeScript block of README.md appears verbatim in this file (checked by the last test) and runs
 * here, so the README cannot show code that does not work.
 */

/** A stand-in for a driver connection, as the seed's `MyConnection`. */
class MyConnection {
  static opened = 0;
  connected = true;
  state = 'clean';
  static async connect({ signal }: { signal: AbortSignal }): Promise<MyConnection> {
    signal.throwIfAborted();
    MyConnection.opened++;
    return new MyConnection();
  }
  isConnected(): boolean {
    return this.connected;
  }
  async resetState(): Promise<void> {
    this.state = 'clean';
  }
  async disconnect(): Promise<void> {
    this.connected = false;
  }
  async executeQuery(sql: string): Promise<{ sql: string }[]> {
    if (!this.connected) throw new Error('not connected');
    return [{ sql }];
  }
}

class MyConnectionFactory implements ConnectionFactory<MyConnection> {
  async create({ signal }: CreateContext): Promise<MyConnection> {
    return MyConnection.connect({ signal });
  }

  async validate(connection: MyConnection): Promise<boolean> {
    return connection.isConnected();
  }

  async reset(connection: MyConnection): Promise<void> {
    await connection.resetState();
  }

  async close(connection: MyConnection): Promise<void> {
    await connection.disconnect();
  }
}

const pools: ConnectionPool<MyConnection>[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
  vi.restoreAllMocks();
});

async function basicPool(): Promise<{ pool: ConnectionPool<MyConnection>; config: PoolConfig; factory: MyConnectionFactory }> {
  const config = PoolConfig.default();
  const factory = new MyConnectionFactory();
  const pool = await ConnectionPool.create(config, factory);
  pools.push(pool);
  return { pool, config, factory };
}

describe('README examples', () => {
  it('Basic pool', async () => {
    const config = PoolConfig.default();
    const factory = new MyConnectionFactory();
    const pool = await ConnectionPool.create(config, factory);
    pools.push(pool);
    expect(pool.config.maxSize).toBe(10);
  });

  it('Custom configuration', () => {
    const config = PoolConfig.builder()
      .minSize(10)
      .maxSize(100)
      .initialSize(20)
      .acquireTimeoutMs(30_000)
      .maxLifetimeMs(3_600_000)
      .statementCacheSize(100)
      .build();
    const fromObject = PoolConfig.from({ minSize: 10, maxSize: 100, acquireTimeoutMs: 30_000 });
    expect(config.initialSize).toBe(20);
    expect(fromObject.maxSize).toBe(100);
  });

  it('Acquiring connections', async () => {
    const { pool } = await basicPool();
    // Acquire a connection
    const conn = await pool.acquire();

    // Use the connection
    const result = await conn.connection.executeQuery('SELECT * FROM users');

    // Give it back (Rust returns it on drop; JavaScript says so explicitly)
    conn.release();
    expect(result).toEqual([{ sql: 'SELECT * FROM users' }]);

    // A scope: released at the closing brace, also when the query throws
    {
      await using scoped = await pool.acquire();
      await scoped.connection.executeQuery('SELECT * FROM users');
    }

    // A callback: pool.use() always releases; an error thrown inside is reported to the pool and rethrown
    const users = await pool.use((db) => db.executeQuery('SELECT * FROM users'));
    expect(users).toHaveLength(1);
    // This factory has reset() but no isDirty(), so each release resets before reuse (adaptive recycling).
    await vi.waitFor(() => expect(pool.size().active).toBe(0));
  });

  it('Connection guard API', async () => {
    const { pool } = await basicPool();
    const guard = await pool.acquire();
    guard.connection; // the driver connection (the seed's connection())
    guard.connectionMut(); // the same object (JavaScript has no &mut)
    guard.id; // stable id of the underlying connection, unique in its pool
    guard.age; // milliseconds since the connection was opened
    guard.release();
    expect(guard.id).toBe(1);
    expect(() => guard.connection).toThrow(/released/);
  });

  it('Error handling: each branch', async () => {
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      errors.push(String(args[0]));
    });
    async function handle(pool: ConnectionPool<MyConnection>): Promise<void> {
      try {
        const acquired = await pool.acquire();
        acquired.release();
      } catch (err) {
        if (err instanceof ConnectionTimeoutError) {
          console.error(`Timeout after ${err.timeoutMs} ms`, err.cause);
        } else if (err instanceof PoolExhaustedError) {
          console.error(`Pool full: ${err.active}/${err.max} connections`);
        } else if (err instanceof ValidationFailedError) {
          console.error(`Validation failed: ${err.message}`);
        } else {
          console.error(`Pool error: ${err}`);
        }
      }
    }
    const factory = new MyConnectionFactory();
    const timingOut = await ConnectionPool.create({ maxSize: 1, acquireTimeoutMs: 20 }, factory);
    const exhausted = await ConnectionPool.create({ maxSize: 1, maxWaitQueueSize: 0 }, factory);
    pools.push(timingOut, exhausted);
    const heldA = await timingOut.acquire();
    const heldB = await exhausted.acquire();
    await handle(timingOut);
    await handle(exhausted);
    heldA.release();
    heldB.release();
    await timingOut.close();
    await handle(timingOut);
    expect(errors).toEqual(['Timeout after 20 ms', 'Pool full: 1/1 connections', 'Pool error: PoolClosedError: The pool is closed']);
  });

  it('Pool statistics', async () => {
    const { pool } = await basicPool();
    await pool.use((db) => db.executeQuery('SELECT 1'));
    await vi.waitFor(() => expect(pool.size().idle).toBe(1));
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
    const stats = pool.statistics();

    console.log(`Connections created: ${stats.connectionsCreated}`);
    console.log(`Connections active: ${stats.activeConnections}`);
    console.log(`Success rate: ${(stats.successRate * 100).toFixed(2)}%`);
    console.log(`Avg acquire time: ${stats.averageAcquireTimeMs.toFixed(3)} ms`);

    const size = pool.size();
    console.log(`Total: ${size.total}, Idle: ${size.idle}, Active: ${size.active}`);
    expect(lines.slice(0, 3)).toEqual(['Connections created: 1', 'Connections active: 0', 'Success rate: 100.00%']);
    expect(lines[4]).toBe('Total: 1, Idle: 1, Active: 0');
  });

  it('Lifecycle: aging policies', async () => {
    const { config, factory } = await basicPool();
    // Time-based aging
    const timeBased = AgingPolicy.TimeBased({ maxLifetimeMs: 3_600_000 });

    // Usage-based aging
    const usageBased = AgingPolicy.UsageBased({ maxBorrows: 1_000 });

    // Combined aging
    const combined = AgingPolicy.Combined({ maxLifetimeMs: 3_600_000, maxBorrows: 1_000 });

    // Adaptive aging: recycle when the recent error rate exceeds 5%
    const adaptive = AgingPolicy.Adaptive({ baseLifetimeMs: 3_600_000, errorThreshold: 0.05 });

    const agingPool = await ConnectionPool.create(config, factory, { agingPolicy: adaptive });
    pools.push(agingPool);
    expect([timeBased.kind, usageBased.kind, combined.kind]).toEqual(['timeBased', 'usageBased', 'combined']);
    expect(agingPool.agingPolicy).toMatchObject({ kind: 'adaptive', errorThreshold: 0.05, windowSize: 20, minSamples: 10 });
  });

  it('Lifecycle: recycling strategies', async () => {
    const { config, factory } = await basicPool();
    const fast = RecyclingStrategy.Fast; // return as is
    const checked = RecyclingStrategy.Checked; // full factory.reset before reuse
    const replace = RecyclingStrategy.Replace; // close it; a new one opens when needed
    const adaptiveRecycling = RecyclingStrategy.Adaptive; // reset only when factory.isDirty says so (default)

    const recyclingPool = await ConnectionPool.create(config, factory, { recyclingStrategy: checked });
    pools.push(recyclingPool);
    expect([fast, replace, adaptiveRecycling]).toEqual(['fast', 'replace', 'adaptive']);
    const conn = await recyclingPool.acquire();
    conn.connection.state = 'dirty';
    const raw = conn.connection;
    conn.release();
    await vi.waitFor(() => expect(raw.state).toBe('clean'));
  });

  it('Lifecycle: connection validator', async () => {
    const { pool } = await basicPool();
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
    const validator = new ConnectionValidator({ timeoutMs: 5_000 }).withQuery('SELECT 1').withFastValidation(true);

    const checkedConn = await pool.acquire();
    const isValid = await validator.validate(checkedConn);
    checkedConn.release();
    const validatorStats = validator.statistics();
    console.log(`Validation success rate: ${(validatorStats.successRate * 100).toFixed(2)}%`);
    expect(isValid).toBe(true);
    expect(lines).toEqual(['Validation success rate: 100.00%']);
  });

  it('Diagnostics channels', async () => {
    const { pool } = await basicPool();
    const waits: { pool: string; waitMs: number | undefined }[] = [];
    const holds: { pool: string; connectionId: number; holdMs: number; context: unknown }[] = [];

    // How long callers wait for a connection, per pool
    const waitTracer = {
      start() {},
      end() {},
      asyncStart() {},
      asyncEnd(message: unknown) {
        const trace = message as AcquireTrace;
        if (trace.error === undefined) waits.push({ pool: trace.pool, waitMs: trace.waitMs });
      },
      error() {},
    };
    diagnostics_channel.tracingChannel(PoolChannel.Acquire).subscribe(waitTracer);

    // How long connections are held, and by whom
    const onRelease = (message: unknown) => {
      const { pool, connectionId, holdMs, context } = message as ReleaseMessage;
      holds.push({ pool, connectionId, holdMs, context });
    };
    diagnostics_channel.subscribe(PoolChannel.Release, onRelease);
    try {
      await pool.use(() => {}, { context: 'report' });
    } finally {
      diagnostics_channel.tracingChannel(PoolChannel.Acquire).unsubscribe(waitTracer);
      diagnostics_channel.unsubscribe(PoolChannel.Release, onRelease);
    }
    expect(waits).toEqual([{ pool: pool.name, waitMs: expect.any(Number) }]);
    expect(holds).toEqual([{ pool: pool.name, connectionId: expect.any(Number), holdMs: expect.any(Number), context: 'report' }]);
  });

  it('shows no TypeScript in the README that this file does not run', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const self = normalise(readFileSync(new URL(import.meta.url), 'utf8'));
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    expect(blocks.length).toBeGreaterThanOrEqual(12);
    for (const block of blocks) {
      const code = block
        .split('\n')
        .filter((line) => !line.startsWith('import '))
        .join('\n');
      expect(self, `README block not covered by readme.test.ts:\n${code}`).toContain(normalise(code));
    }
  });
});

function normalise(code: string): string {
  return code.replace(/\s+/g, ' ').trim();
}
