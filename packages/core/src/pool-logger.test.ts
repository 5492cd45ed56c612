import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidConfigError } from './errors.js';
import { ConnectionPool } from './pool.js';
import { type LogLevel, type PoolLogger, writeLog } from './pool-logger.js';
import { ClassifyingFakeFactory, FakeFactory, flush } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

interface Line {
  level: LogLevel;
  args: unknown[];
}

/** A console-shaped logger that records every call: `(message, fields)`. */
function recordingLogger(): PoolLogger & { lines: Line[]; messages(level?: LogLevel): string[] } {
  const lines: Line[] = [];
  const at =
    (level: LogLevel) =>
    (...args: unknown[]): void => {
      lines.push({ level, args });
    };
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    messages: (level) => lines.filter((l) => level === undefined || l.level === level).map((l) => String(l.args[0])),
  };
}

describe('the logger option', () => {
  it('warns on the first failed connect of a streak, then at most every 10 s, and says when connects work again', async () => {
    const logger = recordingLogger();
    const factory = new FakeFactory();
    factory.createDefault = 'fail';
    const pool = ConnectionPool.open({ minSize: 1, createRetryDelayMs: 1_000, createRetryMaxDelayMs: 1_000 }, factory, {
      name: 'orders',
      logger,
    });
    await flush();
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]?.level).toBe('warn');
    expect(logger.messages()[0]).toMatch(/^\[orders\] cannot open a connection: ECONNREFUSED 127\.0\.0\.1:5432; retrying in \d+ ms$/);
    expect(logger.lines[0]?.args[1]).toMatchObject({ pool: 'orders', error: factory.createError, fatal: false, failures: 1 });

    await vi.advanceTimersByTimeAsync(9_000); // more failures, within 10 s of the first report: not logged
    expect(factory.createCalls).toBeGreaterThan(5);
    expect(logger.lines).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2_500);
    expect(logger.messages('warn')).toHaveLength(2);
    expect(logger.messages('warn')[1]).toMatch(/cannot open a connection \(\d+ failed attempts in \d+ ms\)/);
    expect(logger.lines[1]?.args[1]).toMatchObject({ suppressed: expect.any(Number) });
    expect((logger.lines[1]?.args[1] as { suppressed: number } | undefined)?.suppressed ?? 0).toBeGreaterThan(3);

    factory.createDefault = 'ok';
    await vi.advanceTimersByTimeAsync(1_500);
    expect(pool.size().total).toBe(1);
    expect(logger.messages('info')).toEqual([
      expect.stringMatching(/^\[orders\] connections open again after \d+ failed attempts over \d+ ms$/),
    ]);
    await pool.close();
    expect(logger.messages('debug')).toEqual([]); // closing the pool is not a retirement
  });

  it('logs a fatal connect error at error level', async () => {
    const logger = recordingLogger();
    const factory = new ClassifyingFakeFactory();
    factory.createDefault = 'fail';
    factory.createError = new Error('password authentication failed for user "app"');
    const pool = ConnectionPool.open({}, factory, { logger });
    await pool.acquire().catch(() => {});
    expect(logger.messages('error')).toEqual([
      expect.stringContaining('cannot open a connection, and retrying cannot fix the error: password authentication failed'),
    ]);
    await pool.close();
  });

  it('warns about a leaked borrow with its context', async () => {
    const logger = recordingLogger();
    const pool = await ConnectionPool.create(
      { initialSize: 1, leakDetectionThresholdMs: 1_000, maintenanceIntervalMs: 500 },
      new FakeFactory(),
      { logger, name: 'reports' },
    );
    const conn = await pool.acquire({ context: { route: '/export' } });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(logger.messages('warn')).toEqual([`[reports] connection ${conn.id} has been borrowed for 1000 ms (possible leak)`]);
    expect(logger.lines[0]?.args[1]).toMatchObject({ connectionId: conn.id, heldMs: 1_000, context: { route: '/export' } });
    conn.release();
    await pool.close();
  });

  it('logs retirements and evictions at debug', async () => {
    const logger = recordingLogger();
    const pool = await ConnectionPool.create(
      { initialSize: 2, minSize: 0, idleTimeoutMs: 1_000, maintenanceIntervalMs: 1_000 },
      new FakeFactory(),
      { logger, name: 'p' },
    );
    pool.evictIdle();
    (await pool.acquire()).release(); // refilled: a new connection, idle from now on
    await vi.advanceTimersByTimeAsync(2_000);
    const debug = logger.messages('debug');
    expect(debug.filter((m) => m.includes('(evicted)'))).toHaveLength(2);
    expect(debug.filter((m) => m.includes('(idle)'))).toHaveLength(1);
    expect(logger.lines.every((l) => l.level === 'debug')).toBe(true);
    await pool.close();
  });

  it('logs contained errors at error level instead of a process warning, at most every 10 s per kind', async () => {
    const logger = recordingLogger();
    const warning = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const pool = await ConnectionPool.create({ initialSize: 1 }, new FakeFactory(), { logger });
    pool.on('acquire', () => {
      throw new Error('listener bug');
    });
    for (let i = 0; i < 5; i++) (await pool.acquire()).release();
    expect(logger.messages('error')).toEqual([expect.stringContaining("A 'acquire' listener threw: listener bug")]);
    await vi.advanceTimersByTimeAsync(10_000);
    (await pool.acquire()).release();
    expect(logger.messages('error')).toHaveLength(2);
    expect(logger.messages('error')[1]).toContain('(4 more like it since the last report)');
    expect(pool.statistics().errors).toBe(6);
    expect(warning).not.toHaveBeenCalled();
    await pool.close();
  });

  it('calls pino- and bunyan-shaped loggers fields first, and console-shaped ones message first', () => {
    const calls: unknown[][] = [];
    const record = (...args: unknown[]) => {
      calls.push(args);
    };
    const base = { debug: record, info: record, warn: record, error: record };
    const pinoLike = { ...base, levels: { values: { info: 30 }, labels: { 30: 'info' } } };
    const bunyanLike = { ...base, streams: [], addStream() {} };
    writeLog(pinoLike, 'info', 'hello', { a: 1 });
    writeLog(bunyanLike, 'warn', 'hello', { a: 2 });
    writeLog(base, 'error', 'hello', { a: 3 });
    expect(calls).toEqual([
      [{ a: 1 }, 'hello'],
      [{ a: 2 }, 'hello'],
      ['hello', { a: 3 }],
    ]);
  });

  it('never lets a throwing logger break the pool', async () => {
    const boom = () => {
      throw new Error('logger down');
    };
    const factory = new FakeFactory();
    factory.createPlan = ['fail'];
    const pool = ConnectionPool.open({}, factory, { logger: { debug: boom, info: boom, warn: boom, error: boom } });
    const conn = pool.acquire();
    await vi.advanceTimersByTimeAsync(500);
    (await conn).release();
    expect(pool.size().total).toBe(1);
    await pool.close();
  });

  it('rejects a logger without the four methods, naming the option, and exposes a good one as pool.logger', async () => {
    expect(() => ConnectionPool.open({}, new FakeFactory(), { logger: { info() {} } as unknown as PoolLogger })).toThrow(
      InvalidConfigError,
    );
    expect(() => ConnectionPool.open({}, new FakeFactory(), { logger: { info() {} } as unknown as PoolLogger })).toThrow(/logger/);
    const pool = ConnectionPool.open({}, new FakeFactory(), { logger: console });
    expect(pool.logger).toBe(console);
    const silent = ConnectionPool.open({}, new FakeFactory());
    expect(silent.logger).toBeNull();
    await Promise.all([pool.close(), silent.close()]);
  });
});
