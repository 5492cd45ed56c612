import { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics_channel from 'node:diagnostics_channel';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectionValidator } from './connection-validator.js';
import {
  type AcquireTrace,
  type CreateMessage,
  type DestroyMessage,
  type LeakMessage,
  PoolChannel,
  type ReleaseMessage,
  type ResetMessage,
  type ValidateMessage,
} from './diagnostics.js';
import { ConnectionTimeoutError } from './errors.js';
import { ConnectionPool } from './pool.js';
import { ClassifyingFakeFactory, FakeFactory, flush } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const undo of cleanups.splice(0)) undo();
  vi.useRealTimers();
});

let pools = 0;
const uniqueName = (): string => `diag-${process.pid}-${++pools}`;

/** Subscribes for real to a plain channel, keeping the messages of pool `name`; unsubscribed after the test. */
function collect<M extends { pool: string }>(channelName: string, name: string): M[] {
  const messages: M[] = [];
  const onMessage = (message: unknown): void => {
    if ((message as M).pool === name) messages.push(message as M);
  };
  diagnostics_channel.subscribe(channelName, onMessage);
  cleanups.push(() => diagnostics_channel.unsubscribe(channelName, onMessage));
  return messages;
}

type TraceEvent = { event: 'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error'; trace: AcquireTrace; snapshot: Partial<AcquireTrace> };

/** Subscribes to all five events of the acquire tracing channel, keeping those of pool `name` with a copy of the context at that moment. */
function collectAcquires(name: string, channelName: string = PoolChannel.Acquire): TraceEvent[] {
  const events: TraceEvent[] = [];
  const on =
    (event: TraceEvent['event']) =>
    (message: unknown): void => {
      const trace = message as AcquireTrace;
      if (trace.pool === name) events.push({ event, trace, snapshot: { ...trace } });
    };
  const handlers = { start: on('start'), end: on('end'), asyncStart: on('asyncStart'), asyncEnd: on('asyncEnd'), error: on('error') };
  const channel = diagnostics_channel.tracingChannel(channelName);
  channel.subscribe(handlers);
  cleanups.push(() => channel.unsubscribe(handlers));
  return events;
}

describe('diagnostics channels', () => {
  it('names every channel under the pool: prefix', () => {
    expect(Object.values(PoolChannel)).toEqual([
      'pool:acquire',
      'pool:wait',
      'pool:create',
      'pool:validate',
      'pool:reset',
      'pool:release',
      'pool:destroy',
      'pool:leak',
    ]);
    expect(Object.isFrozen(PoolChannel)).toBe(true);
  });

  it('traces an acquire served from idle: start and end with the request, asyncStart and asyncEnd with the outcome', async () => {
    const name = uniqueName();
    const pool = await ConnectionPool.create({ initialSize: 1, acquireTimeoutMs: 5_000 }, new FakeFactory(), { name });
    const events = collectAcquires(name);
    const conn = await pool.acquire({ priority: 'high', context: { partition: 'tenant-a' }, label: 'a' });
    expect(events.map((e) => e.event)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    expect(events[0]?.snapshot).toEqual({
      pool: name,
      priority: 'high',
      timeoutMs: 5_000,
      context: { partition: 'tenant-a' },
      label: 'a',
      failFast: false,
    });
    expect(events[3]?.snapshot).toMatchObject({ result: conn, connectionId: conn.id, waitMs: 0 });
    expect(new Set(events.map((e) => e.trace)).size).toBe(1); // one context object through all five events
    conn.release();
    await pool.close();
  });

  it('measures the wait of a traced acquire that waited for a release', async () => {
    const name = uniqueName();
    const pool = await ConnectionPool.create({ initialSize: 1, maxSize: 1 }, new FakeFactory(), { name });
    const held = await pool.acquire();
    const events = collectAcquires(name);
    const waiting = pool.acquire();
    expect(events.map((e) => e.event)).toEqual(['start', 'end']);
    await vi.advanceTimersByTimeAsync(250);
    held.release();
    const conn = await waiting;
    expect(events.map((e) => e.event)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    expect(events[3]?.snapshot).toMatchObject({ connectionId: conn.id, waitMs: 250 });
    conn.release();
    await pool.close();
  });

  it('traces a failed acquire through error, then asyncStart and asyncEnd', async () => {
    const name = uniqueName();
    const pool = await ConnectionPool.create({ initialSize: 1, maxSize: 1 }, new FakeFactory(), { name });
    const held = await pool.acquire();
    const events = collectAcquires(name);
    const failed = pool.acquire({ timeoutMs: 100 }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    const error = await failed;
    expect(error).toBeInstanceOf(ConnectionTimeoutError);
    expect(events.map((e) => e.event)).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
    expect(events[2]?.snapshot).toMatchObject({ error, waitMs: 100, timeoutMs: 100 });
    expect(events[2]?.snapshot.result).toBeUndefined();
    held.release();
    await pool.close();
  });

  it('publishes on pool:wait only the acquires that had to wait, with their wait', async () => {
    const name = uniqueName();
    const pool = await ConnectionPool.create({ initialSize: 1, maxSize: 1 }, new FakeFactory(), { name });
    const waits = collectAcquires(name, PoolChannel.Wait);
    const held = await pool.acquire(); // served at once: nothing on pool:wait
    expect(waits).toEqual([]);
    const waiting = pool.acquire({ priority: 'high', label: 'w' });
    expect(waits.map((e) => e.event)).toEqual(['start', 'end']);
    expect(waits[0]?.snapshot).toEqual({
      pool: name,
      priority: 'high',
      timeoutMs: 30_000,
      context: undefined,
      label: 'w',
      failFast: false,
    });
    await vi.advanceTimersByTimeAsync(40);
    held.release();
    const conn = await waiting;
    expect(waits.map((e) => e.event)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    expect(waits[3]?.snapshot).toMatchObject({ result: conn, connectionId: conn.id, waitMs: 40 });
    conn.release();
    await pool.close();
  });

  it('publishes a wait that failed on pool:wait through error, and none for a refused acquire', async () => {
    const name = uniqueName();
    const pool = await ConnectionPool.create({ initialSize: 1, maxSize: 1, maxWaitQueueSize: 1 }, new FakeFactory(), { name });
    const held = await pool.acquire();
    const waits = collectAcquires(name, PoolChannel.Wait);
    const failed = pool.acquire({ timeoutMs: 100 }).catch((e: unknown) => e);
    const refused = await pool.acquire().catch((e: unknown) => e); // the line is full: refused at once, no wait
    expect((refused as { code?: string }).code).toBe('ERR_POOL_EXHAUSTED');
    await vi.advanceTimersByTimeAsync(100);
    const error = await failed;
    expect(error).toBeInstanceOf(ConnectionTimeoutError);
    expect(waits.map((e) => e.event)).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
    expect(waits[2]?.snapshot).toMatchObject({ error, waitMs: 100 });
    held.release();
    await pool.close();
  });

  it('publishes pool:wait in the caller’s context, and beside pool:acquire when both are subscribed', async () => {
    const name = uniqueName();
    const pool = await ConnectionPool.create({ initialSize: 1, maxSize: 1 }, new FakeFactory(), { name });
    const held = await pool.acquire();
    const storage = new AsyncLocalStorage<string>();
    const seen: (string | undefined)[] = [];
    const onStart = (message: unknown): void => {
      if ((message as AcquireTrace).pool === name) seen.push(storage.getStore());
    };
    const wait = diagnostics_channel.tracingChannel(PoolChannel.Wait);
    wait.start.subscribe(onStart);
    cleanups.push(() => wait.start.unsubscribe(onStart));
    const acquires = collectAcquires(name);
    const waiting = storage.run('caller', () => pool.acquire());
    expect(seen).toEqual(['caller']);
    held.release();
    const conn = await waiting;
    expect(acquires.map((e) => e.event)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    expect(acquires[3]?.snapshot.connectionId).toBe(conn.id);
    conn.release();
    await pool.close();
  });

  it('runs the acquire in the stores bound to its start, so the connect it triggers sees the caller’s context', async () => {
    const name = uniqueName();
    const storage = new AsyncLocalStorage<string>();
    const start = diagnostics_channel.tracingChannel(PoolChannel.Acquire).start;
    start.bindStore(storage, (trace) => `span-of-${(trace as AcquireTrace).pool}`);
    cleanups.push(() => start.unbindStore(storage));
    const seen: (string | undefined)[] = [];
    const factory = new FakeFactory();
    const create = factory.create.bind(factory);
    factory.create = (ctx) => {
      seen.push(storage.getStore());
      return create(ctx);
    };
    const pool = ConnectionPool.open({}, factory, { name });
    const conn = await pool.acquire();
    expect(seen).toEqual([`span-of-${name}`]);
    expect(storage.getStore()).toBeUndefined();
    conn.release();
    await pool.close();
  });

  it('publishes connection creations, successful and failed (with fatal), on pool:create', async () => {
    const name = uniqueName();
    const created = collect<CreateMessage>(PoolChannel.Create, name);
    const factory = new ClassifyingFakeFactory();
    factory.createDelayMs = 30;
    factory.createPlan = ['ok', 'fail'];
    const pool = ConnectionPool.open({}, factory, { name });
    const first = pool.acquire();
    await vi.advanceTimersByTimeAsync(30);
    const conn = await first;
    const second = pool.acquire({ timeoutMs: 100 }).catch((e: unknown) => e); // the open connection may serve it: it waits
    await vi.advanceTimersByTimeAsync(100);
    expect(await second).toBeInstanceOf(ConnectionTimeoutError);
    expect(created).toEqual([
      { pool: name, outcome: 'created', connectionId: conn.id, durationMs: 30, error: undefined, fatal: false, consecutiveFailures: 0 },
      {
        pool: name,
        outcome: 'failed',
        connectionId: undefined,
        durationMs: 30,
        error: factory.createError,
        fatal: true,
        consecutiveFailures: 1,
      },
    ]);
    conn.release();
    await pool.close();
  });

  it('publishes validations, skipped ones included, on pool:validate', async () => {
    const name = uniqueName();
    const validated = collect<ValidateMessage>(PoolChannel.Validate, name);
    const factory = new FakeFactory();
    factory.validateDelayMs = 5;
    const validator = new ConnectionValidator().withFastValidation(true);
    const pool = await ConnectionPool.create({ initialSize: 1, validateOnAcquire: true }, factory, { name, validator });
    await vi.advanceTimersByTimeAsync(1_000); // older than the fast-validation window: checked
    const first = pool.acquire();
    await vi.advanceTimersByTimeAsync(5);
    (await first).release();
    const second = await pool.acquire(); // used successfully just now: trusted
    second.release();
    expect(validated).toEqual([
      { pool: name, connectionId: second.id, outcome: 'valid', durationMs: 5 },
      { pool: name, connectionId: second.id, outcome: 'skipped', durationMs: 0 },
    ]);
    await pool.close();
  });

  it('publishes resets with their outcome on pool:reset', async () => {
    const name = uniqueName();
    const resets = collect<ResetMessage>(PoolChannel.Reset, name);
    const factory = new FakeFactory();
    factory.resetDelayMs = 8;
    const pool = await ConnectionPool.create({ initialSize: 1 }, factory, { name });
    const conn = await pool.acquire();
    conn.connection.dirty = true;
    conn.release();
    await vi.advanceTimersByTimeAsync(8);
    factory.resetBehaviour = 'fail';
    const again = await pool.acquire();
    again.connection.dirty = true;
    again.release();
    await vi.advanceTimersByTimeAsync(8);
    expect(resets).toEqual([
      { pool: name, connectionId: conn.id, outcome: 'reset', durationMs: 8, error: undefined },
      { pool: name, connectionId: conn.id, outcome: 'failed', durationMs: 8, error: expect.any(Error) },
    ]);
    await pool.close();
  });

  it('publishes the end of every borrow with its hold time and context on pool:release', async () => {
    const name = uniqueName();
    const releases = collect<ReleaseMessage>(PoolChannel.Release, name);
    const pool = await ConnectionPool.create({ initialSize: 2, closeTimeoutMs: 100 }, new FakeFactory(), { name });
    const a = await pool.acquire({ context: 'route-a' });
    const b = await pool.acquire();
    await vi.advanceTimersByTimeAsync(40);
    const failure = new Error('query failed');
    a.release({ error: failure });
    await vi.advanceTimersByTimeAsync(10);
    await b.destroy();
    expect(releases).toEqual([
      { pool: name, connectionId: a.id, holdMs: 40, ended: 'released', error: failure, context: 'route-a' },
      { pool: name, connectionId: b.id, holdMs: 50, ended: 'destroyed', error: undefined, context: undefined },
    ]);
    const c = await pool.acquire();
    const closing = pool.close();
    await vi.advanceTimersByTimeAsync(100);
    await closing;
    expect(releases[2]).toMatchObject({ connectionId: c.id, ended: 'closed', holdMs: 100 });
  });

  it('publishes every destroyed connection with its reason on pool:destroy', async () => {
    const name = uniqueName();
    const destroyed = collect<DestroyMessage>(PoolChannel.Destroy, name);
    const pool = await ConnectionPool.create({ initialSize: 2, minSize: 0 }, new FakeFactory(), { name });
    await vi.advanceTimersByTimeAsync(500);
    const conn = await pool.acquire();
    const cause = new Error('socket hang up');
    await conn.destroy(cause);
    await pool.close();
    expect(destroyed).toEqual([
      { pool: name, connectionId: conn.id, reason: 'destroyed', ageMs: 500, borrows: 1, error: cause },
      { pool: name, connectionId: expect.any(Number), reason: 'closed', ageMs: 500, borrows: 0, error: undefined },
    ]);
  });

  it('publishes leaks with the borrow’s context on pool:leak', async () => {
    const name = uniqueName();
    const leaks = collect<LeakMessage>(PoolChannel.Leak, name);
    const pool = await ConnectionPool.create(
      { initialSize: 1, leakDetectionThresholdMs: 1_000, maintenanceIntervalMs: 500 },
      new FakeFactory(),
      { name },
    );
    const conn = await pool.acquire({ context: { route: '/report' } });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(leaks).toEqual([{ pool: name, connectionId: conn.id, heldMs: 1_000, stack: undefined, context: { route: '/report' } }]);
    conn.release();
    await pool.close();
  });

  it('measures no borrow time and publishes nothing once the subscriber leaves', async () => {
    const name = uniqueName();
    const pool = await ConnectionPool.create({ initialSize: 1 }, new FakeFactory(), { name });
    const onMessage = vi.fn();
    diagnostics_channel.subscribe(PoolChannel.Release, onMessage);
    (await pool.acquire()).release();
    expect(onMessage).toHaveBeenCalledTimes(1);
    diagnostics_channel.unsubscribe(PoolChannel.Release, onMessage);
    const conn = await pool.acquire();
    expect(pool.connections()[0]?.acquiredAt).toBeUndefined(); // no clock read for a borrow nobody times
    conn.release();
    await flush();
    expect(onMessage).toHaveBeenCalledTimes(1);
    await pool.close();
  });
});
