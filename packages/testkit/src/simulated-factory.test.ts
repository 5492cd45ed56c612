import { ConnectionPool, InvalidConfigError } from '@pool/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SimulatedConnectionError, SimulatedQueryError } from './errors.js';
import { type SimulatedConnection, SimulatedFactory } from './simulated-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const ctx = (signal: AbortSignal = new AbortController().signal, markBroken: (e?: unknown) => void = () => {}) => ({ signal, markBroken });
const op = () => ({ signal: new AbortController().signal });

describe('SimulatedFactory', () => {
  it('opens connections after the connect latency', async () => {
    const factory = new SimulatedFactory({ connectLatencyMs: 100 });
    let conn: SimulatedConnection | undefined;
    void factory.create(ctx()).then((c) => {
      conn = c;
    });
    await vi.advanceTimersByTimeAsync(99);
    expect(conn).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(conn?.id).toBe(1);
    expect(factory.connections()).toEqual([conn]);
  });

  it('samples latency ranges from the seed, so two factories with one seed behave alike', async () => {
    const timings = async (seed: number): Promise<number[]> => {
      const factory = new SimulatedFactory({ seed, queryLatencyMs: { minMs: 10, maxMs: 100 } });
      const conn = await factory.create(ctx());
      const out: number[] = [];
      for (let i = 0; i < 5; i++) {
        const start = Date.now();
        const q = conn.query('SELECT 1');
        await vi.advanceTimersToNextTimerAsync();
        await q;
        out.push(Date.now() - start);
      }
      return out;
    };
    const a = await timings(11);
    expect(await timings(11)).toEqual(a);
    expect(await timings(12)).not.toEqual(a);
    for (const t of a) expect(t >= 10 && t <= 100).toBe(true);
  });

  it('fails the configured share of connects, reproducibly', async () => {
    const outcomes = async (): Promise<string> => {
      const factory = new SimulatedFactory({ seed: 4, connectFailureRate: 0.5 });
      let s = '';
      for (let i = 0; i < 20; i++)
        s += await factory.create(ctx()).then(
          () => 'o',
          (e: unknown) => ((e as SimulatedConnectionError).code === 'ECONNREFUSED' ? 'x' : '?'),
        );
      return s;
    };
    const first = await outcomes();
    expect(first).toMatch(/^[ox]{20}$/);
    expect(first).toContain('o');
    expect(first).toContain('x');
    expect(await outcomes()).toBe(first);
  });

  it('hangs a connect until its signal aborts', async () => {
    const factory = new SimulatedFactory({ connectHangRate: 1 });
    const controller = new AbortController();
    const created = factory.create(ctx(controller.signal));
    const settled = vi.fn();
    created.then(settled, settled);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(settled).not.toHaveBeenCalled();
    controller.abort(new Error('gave up'));
    await expect(created).rejects.toThrow('gave up');
    expect(factory.counts).toMatchObject({ createHangs: 1, createFailures: 1, created: 0 });
  });

  it('refuses connections beyond the server limit', async () => {
    const factory = new SimulatedFactory({ maxConnections: 1 });
    const first = await factory.create(ctx());
    await expect(factory.create(ctx())).rejects.toMatchObject({ code: 'ETOOMANY' });
    await factory.close(first, op());
    await expect(factory.create(ctx())).resolves.toBeDefined();
  });

  it('runs built-in commands that keep session state and a transaction', async () => {
    const factory = new SimulatedFactory();
    const conn = await factory.create(ctx());
    expect(conn.dirty).toBe(false);
    await conn.query("SET application_name = 'worker'");
    expect((await conn.query('SHOW application_name')).rows).toEqual([{ application_name: 'worker' }]);
    await conn.query('BEGIN');
    expect(conn.inTransaction).toBe(true);
    expect(factory.isDirty(conn)).toBe(true);
    await factory.reset(conn, op());
    expect(conn.inTransaction).toBe(false);
    expect(conn.settings.size).toBe(0);
    expect(factory.isDirty(conn)).toBe(false);
    await conn.query('SET a TO 1');
    await conn.query('RESET ALL');
    expect(conn.dirty).toBe(false);
  });

  it('answers other queries with the respond function', async () => {
    const factory = new SimulatedFactory({ respond: (sql, params) => [{ sql, params }] });
    const conn = await factory.create(ctx());
    expect(await conn.query('SELECT $1', [5])).toEqual({ command: 'SELECT', rows: [{ sql: 'SELECT $1', params: [5] }], rowCount: 1 });
  });

  it('fails the configured share of queries and keeps the connection usable', async () => {
    const factory = new SimulatedFactory({ seed: 2, queryFailureRate: 0.3 });
    const conn = await factory.create(ctx());
    const results = await Promise.all(
      Array.from({ length: 40 }, () =>
        conn.query('SELECT 1').then(
          () => 'ok',
          (e: unknown) => e,
        ),
      ),
    );
    const failures = results.filter((r) => r instanceof SimulatedQueryError);
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.length).toBeLessThan(40);
    expect(factory.statistics()).toEqual({ queryErrors: failures.length });
    expect(conn.state).toBe('open');
  });

  it('kill breaks a connection: queries in flight reject and markBroken is called', async () => {
    const factory = new SimulatedFactory({ queryHangRate: 1 });
    const markBroken = vi.fn();
    const conn = await factory.create(ctx(undefined, markBroken));
    const hung = conn.query('SELECT pg_sleep(1000)');
    factory.kill(conn);
    await expect(hung).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(markBroken).toHaveBeenCalledWith(expect.any(SimulatedConnectionError));
    await expect(conn.query('SELECT 1')).rejects.toBeInstanceOf(SimulatedConnectionError);
    expect(await factory.validate(conn, op())).toBe(false);
    await expect(factory.reset(conn, op())).rejects.toThrow(/broken/);
    await factory.close(conn, op());
    expect(conn.state).toBe('closed');
    expect(factory.kill(conn)).toBe(false);
  });

  it('killAll breaks every open connection, like a server restart', async () => {
    const factory = new SimulatedFactory();
    await Promise.all([factory.create(ctx()), factory.create(ctx()), factory.create(ctx())]);
    expect(factory.killAll()).toBe(3);
    expect(factory.connections()).toEqual([]);
    expect(factory.counts.killed).toBe(3);
  });

  it('validate runs the validation query and honours its signal', async () => {
    const factory = new SimulatedFactory({ queryLatencyMs: 1_000 });
    const conn = await factory.create(ctx());
    const controller = new AbortController();
    const validated = factory.validate(conn, { signal: controller.signal, query: 'SELECT 1' });
    await vi.advanceTimersByTimeAsync(10);
    controller.abort(new Error('validation timeout'));
    await expect(validated).rejects.toThrow('validation timeout');
    expect(await factory.validate(conn, { signal: AbortSignal.abort() })).toBe(false);
  });

  it('close is idempotent and counts double closes', async () => {
    const factory = new SimulatedFactory();
    const conn = await factory.create(ctx());
    await factory.close(conn, op());
    await factory.close(conn, op());
    expect(factory.counts).toMatchObject({ closed: 1, doubleCloses: 1 });
  });

  it('configure changes behaviour from then on: an outage and its end', async () => {
    const factory = new SimulatedFactory();
    factory.configure({ connectFailureRate: 1 });
    await expect(factory.create(ctx())).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    factory.configure({ connectFailureRate: 0 });
    await expect(factory.create(ctx())).resolves.toBeDefined();
  });

  it('drives a pool through a server restart: idle connections are replaced at once', async () => {
    const factory = new SimulatedFactory({ connectLatencyMs: 5 });
    const [pool] = await Promise.all([
      ConnectionPool.create({ minSize: 3, maxSize: 3, createRetryDelayMs: 10 }, factory),
      vi.advanceTimersByTimeAsync(5),
    ]);
    expect(pool.size().idle).toBe(3);
    factory.killAll();
    expect(pool.statistics().destroyedByReason.broken).toBe(3);
    await vi.advanceTimersByTimeAsync(100); // replacements may wait out a short create backoff first
    expect(pool.size().idle).toBe(3);
    const { rows } = await pool.use((db) => db.query('SHOW x'));
    expect(rows).toEqual([{ x: null }]);
    await pool.close();
    expect(factory.connections()).toEqual([]);
  });

  it('rejects bad options, naming the field and the rule', () => {
    expect(() => new SimulatedFactory({ connectFailureRate: 2 })).toThrow(InvalidConfigError);
    expect(() => new SimulatedFactory({ connectFailureRate: 2 })).toThrow(/connectFailureRate = 2: must be a probability between 0 and 1/);
    expect(() => new SimulatedFactory({ queryLatencyMs: { minMs: 5, maxMs: 1 } })).toThrow(/queryLatencyMs/);
    expect(() => new SimulatedFactory({ queryLatencyMs: -1 })).toThrow(/queryLatencyMs = -1/);
    expect(() => new SimulatedFactory({ maxConnections: 0 })).toThrow(/maxConnections = 0/);
    expect(() => new SimulatedFactory({ conectLatencyMs: 1 } as never)).toThrow(/options.conectLatencyMs .*is not a known option/);
    expect(() => new SimulatedFactory({ seed: 0.5 })).toThrow(/seed/);
    expect(() => new SimulatedFactory().configure({ respond: 'rows' as never })).toThrow(/respond/);
  });

  it('rejects a query that is not a string, and foreign connections', async () => {
    const factory = new SimulatedFactory();
    const conn = await factory.create(ctx());
    await expect(conn.query(1 as never)).rejects.toThrow(/sql = 1: must be a string/);
    await expect(conn.query('SELECT 1', 'x' as never)).rejects.toThrow(/params/);
    expect(() => new SimulatedFactory().kill(conn)).toThrow(/made by this factory/);
  });
});
