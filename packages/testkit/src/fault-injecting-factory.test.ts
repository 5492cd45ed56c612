import { type ConnectionFactory, ConnectionPool } from '@pool/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InjectedFaultError } from './errors.js';
import { withFaults } from './fault-injecting-factory.js';
import { type SimulatedConnection, SimulatedFactory } from './simulated-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const ctx = (signal: AbortSignal = new AbortController().signal) => ({ signal, markBroken: () => {} });
const op = (signal: AbortSignal = new AbortController().signal) => ({ signal });

describe('withFaults', () => {
  it('passes every call through when no fault is planned', async () => {
    const inner = new SimulatedFactory();
    const factory = withFaults(inner);
    const conn = await factory.create(ctx());
    expect(await factory.validate?.(conn, op())).toBe(true);
    await conn.query('BEGIN');
    expect(factory.isDirty?.(conn)).toBe(true);
    await factory.reset?.(conn, op());
    expect(factory.isDirty?.(conn)).toBe(false);
    await factory.close(conn, op());
    expect(conn.state).toBe('closed');
    expect(factory.faults.calls).toEqual({ create: 1, validate: 1, reset: 1, close: 1 });
    expect(factory.faults.injected).toEqual({ create: 0, validate: 0, reset: 0, close: 0 });
    expect(factory.statistics?.()).toEqual({ queryErrors: 0 });
    expect(factory.inner).toBe(inner);
  });

  it('failNext fails the next calls of one operation, without opening a connection', async () => {
    const inner = new SimulatedFactory();
    const factory = withFaults(inner);
    factory.faults.failNext('create', 2);
    await expect(factory.create(ctx())).rejects.toBeInstanceOf(InjectedFaultError);
    await expect(factory.create(ctx())).rejects.toMatchObject({ operation: 'create', code: 'EINJECTED_FAULT' });
    expect(inner.counts.created).toBe(0);
    await expect(factory.create(ctx())).resolves.toBeDefined();
  });

  it('failNext can inject a given error', async () => {
    const factory = withFaults(new SimulatedFactory());
    const conn = await factory.create(ctx());
    const error = Object.assign(new Error('ECONNRESET'), { code: 'ECONNRESET' });
    factory.faults.failNext('reset', 1, error);
    await expect(factory.reset?.(conn, op())).rejects.toBe(error);
  });

  it('hangNext hangs until the signal aborts, and releaseHangs lets a hung call proceed', async () => {
    const factory = withFaults(new SimulatedFactory());
    factory.faults.hangNext('create', 2);
    const controller = new AbortController();
    const first = factory.create(ctx(controller.signal));
    const second = factory.create(ctx());
    await vi.advanceTimersByTimeAsync(60_000);
    expect(factory.faults.hanging).toBe(2);
    controller.abort(new Error('create timeout'));
    await expect(first).rejects.toThrow('create timeout');
    expect(factory.faults.releaseHangs()).toBe(1);
    await expect(second).resolves.toMatchObject({ state: 'open' });
  });

  it('invalidNext makes validations report the connection unusable', async () => {
    const factory = withFaults(new SimulatedFactory());
    const conn = await factory.create(ctx());
    factory.faults.invalidNext();
    expect(await factory.validate?.(conn, op())).toBe(false);
    expect(await factory.validate?.(conn, op())).toBe(true);
  });

  it('an injected close failure still closes the real connection', async () => {
    const inner = new SimulatedFactory();
    const factory = withFaults(inner);
    const conn = await factory.create(ctx());
    factory.faults.failNext('close');
    await expect(factory.close(conn, op())).rejects.toBeInstanceOf(InjectedFaultError);
    expect(conn.state).toBe('closed');
  });

  it('a hung close closes the real connection once it is abandoned', async () => {
    const inner = new SimulatedFactory();
    const factory = withFaults(inner);
    const conn = await factory.create(ctx());
    factory.faults.hangNext('close');
    const controller = new AbortController();
    const closing = factory.close(conn, op(controller.signal));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(conn.state).toBe('open');
    controller.abort(new Error('close timeout'));
    await expect(closing).rejects.toThrow('close timeout');
    expect(conn.state).toBe('closed');
  });

  it('probabilistic faults follow the seed', async () => {
    const run = async (seed: number): Promise<string> => {
      const factory = withFaults(new SimulatedFactory(), { seed, create: { failRate: 0.5 } });
      let s = '';
      for (let i = 0; i < 24; i++)
        s += await factory.create(ctx()).then(
          () => 'o',
          () => 'x',
        );
      return s;
    };
    const a = await run(8);
    expect(a).toContain('o');
    expect(a).toContain('x');
    expect(await run(8)).toBe(a);
  });

  it('delayMs slows an operation and still honours its signal', async () => {
    const factory = withFaults(new SimulatedFactory(), { validate: { delayMs: 500 } });
    const conn = await factory.create(ctx());
    const done = vi.fn();
    void factory.validate?.(conn, op()).then(done);
    await vi.advanceTimersByTimeAsync(499);
    expect(done).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toHaveBeenCalledWith(true);
    const controller = new AbortController();
    const slow = factory.validate?.(conn, op(controller.signal));
    controller.abort(new Error('validation timeout'));
    await expect(slow).rejects.toThrow('validation timeout');
  });

  it('configure and clear change the faults while a test runs', async () => {
    const factory = withFaults(new SimulatedFactory());
    factory.faults.configure('create', { failRate: 1 });
    await expect(factory.create(ctx())).rejects.toBeInstanceOf(InjectedFaultError);
    factory.faults.failNext('validate');
    factory.faults.clear();
    const conn = await factory.create(ctx());
    expect(await factory.validate?.(conn, op())).toBe(true);
  });

  it('passes other optional hooks through unchanged', () => {
    const inner = { create: async () => ({}), close: async () => {}, connectionMemoryBytes: () => 4096 };
    const factory = withFaults(inner as ConnectionFactory<object>) as unknown as { connectionMemoryBytes(conn: object): number };
    expect(factory.connectionMemoryBytes({})).toBe(4096);
  });

  it('keeps exactly the optional methods of the factory it wraps', () => {
    const minimal: ConnectionFactory<object> = { create: async () => ({}), close: async () => {} };
    const factory = withFaults(minimal);
    expect(factory.validate).toBeUndefined();
    expect(factory.reset).toBeUndefined();
    expect(factory.isDirty).toBeUndefined();
    expect(factory.statistics).toBeUndefined();
    expect('connectionMemoryBytes' in factory).toBe(false);
  });

  it('lets a pool ride out failing creates and resets', async () => {
    const factory = withFaults(new SimulatedFactory());
    factory.faults.failNext('create', 2);
    const pool = ConnectionPool.open<SimulatedConnection>({ maxSize: 1, createRetryDelayMs: 10, acquireTimeoutMs: 5_000 }, factory);
    const acquired = pool.acquire();
    await vi.advanceTimersByTimeAsync(100);
    const conn = await acquired;
    expect(factory.faults.calls.create).toBe(3);
    await conn.connection.query('BEGIN');
    factory.faults.failNext('reset');
    conn.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(pool.statistics().resetFailures).toBe(1);
    const next = await pool.acquire();
    expect(next.connection.inTransaction).toBe(false);
    next.release();
    await pool.close();
  });

  it('rejects bad arguments, naming them', () => {
    const factory = withFaults(new SimulatedFactory());
    expect(() => factory.faults.failNext('connect' as never)).toThrow(/operation = "connect": must be one of/);
    expect(() => factory.faults.hangNext('create', 0)).toThrow(/count = 0/);
    expect(() => factory.faults.configure('reset', { invalidRate: 0.5 })).toThrow(/reset.invalidRate .*applies to validate only/);
    expect(() => withFaults(new SimulatedFactory(), { create: { failRate: 1.5 } })).toThrow(/create.failRate = 1.5/);
    expect(() => withFaults(new SimulatedFactory(), { crate: {} } as never)).toThrow(/options.crate/);
    expect(() => withFaults({} as never)).toThrow(/factory/);
  });
});
