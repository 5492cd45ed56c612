import { type ConnectionFactory, type ConnectionPool, ConnectionTimeoutError, InvalidArgumentError, InvalidConfigError } from '@pool/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClusterBudget, kStore } from './budget.js';
import { BudgetClosedError, BudgetExhaustedError, BudgetUnavailableError } from './errors.js';
import type { BudgetState } from './events.js';
import type { ClusterBudgetOptions } from './options.js';
import { MemoryServer, type MemoryStore } from './test-support/memory-store.js';

// The client side of the budget (leases, waiting, heartbeat, Redis outages and recovery, shedding,
// fair sharing) under fake timers, on an in-memory store with the scripts' semantics. The scripts
// themselves run against the real Redis in scripts.test.ts; whole processes in cluster.e2e.test.ts.

interface Conn {
  id: number;
}

/** A factory that tracks which connections are open. */
function trackingFactory(): ConnectionFactory<Conn> & { open: Set<number>; created: number } {
  const open = new Set<number>();
  let next = 0;
  const f = {
    open,
    created: 0,
    create: async (): Promise<Conn> => {
      f.created++;
      const c = { id: ++next };
      open.add(c.id);
      return c;
    },
    close: async (c: Conn): Promise<void> => {
      open.delete(c.id);
    },
  };
  return f;
}

const BASE = {
  name: 'db',
  maxConnections: 4,
  leaseTtlMs: 3_000,
  heartbeatIntervalMs: 1_000,
  retryIntervalMs: 100,
  commandTimeoutMs: 500,
} satisfies Omit<ClusterBudgetOptions, 'redis'>;

const POOL = { minSize: 0, maxSize: 4, initialSize: 0, acquireTimeoutMs: 1_000, createRetryDelayMs: 10, createRetryMaxDelayMs: 50 };

let server: MemoryServer;
const cleanup: (() => Promise<void>)[] = [];

function budget(id: string, options: Partial<ClusterBudgetOptions> = {}): ClusterBudget {
  const b = ClusterBudget[kStore]({ ...BASE, ...options, instanceId: id }, server.view(id));
  b.on('error', () => {}); // outages are the point of several tests: no process warnings
  cleanup.push(() => b.close());
  return b;
}

/** Instance `id` on a view of the server whose methods named in `overrides` are replaced. */
function budgetOnStore(
  id: string,
  options: Partial<ClusterBudgetOptions>,
  overrides: (store: MemoryStore) => Partial<Record<keyof MemoryStore, unknown>>,
): ClusterBudget {
  const store = server.view(id);
  const replaced = overrides(store);
  const view = new Proxy(store, {
    get(target, prop) {
      if (prop in replaced) return replaced[prop as keyof MemoryStore];
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const b = ClusterBudget[kStore]({ ...BASE, ...options, instanceId: id }, view);
  b.on('error', () => {});
  cleanup.push(() => b.close());
  return b;
}

async function pool(b: ClusterBudget, factory = trackingFactory(), config: Partial<typeof POOL> = {}): Promise<ConnectionPool<Conn>> {
  const p = await b.createPool({ ...POOL, ...config }, factory);
  cleanup.unshift(() => p.close());
  return p;
}

const tick = async (ms = 0): Promise<void> => {
  await vi.advanceTimersByTimeAsync(ms);
};

/** Runs `promise` while fake time advances by `ms`; returns its value or what it threw. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | unknown> {
  const settled = promise.catch((e: unknown) => e);
  await tick(ms);
  return settled;
}

beforeEach(() => {
  vi.useFakeTimers();
  server = new MemoryServer();
});

afterEach(async () => {
  server.setReachable(true);
  const done = Promise.all(cleanup.splice(0).map((c) => c()));
  await vi.runAllTimersAsync();
  await done;
  vi.useRealTimers();
});

describe('ClusterBudget: leases', () => {
  it('takes one slot per new connection and makes no Redis call when an open connection is borrowed', async () => {
    const b = budget('a');
    await b.ready();
    const p = await pool(b);
    (await p.acquire()).release();
    expect(server.calls.take).toBe(1);
    const before = { ...server.calls };
    for (let i = 0; i < 1_000; i++) (await p.acquire()).release();
    await p.use(async () => {});
    expect(server.calls).toEqual(before);
    expect(server.used('*')).toBe(1);
    expect(b.statistics().database).toMatchObject({ held: 1, open: 1, unleased: 0, globalUsed: 1 });
  });

  it('gives the slot back when the connection closes, and at once when its creation fails', async () => {
    const b = budget('a');
    const factory = trackingFactory();
    let fail = false;
    const flaky: ConnectionFactory<Conn> = {
      create: (ctx) => (fail ? Promise.reject(new Error('db down')) : factory.create(ctx)),
      close: factory.close,
    };
    const p = await pool(b, flaky as ReturnType<typeof trackingFactory>);
    const conn = await p.acquire();
    expect(server.used('*')).toBe(1);
    await conn.destroy();
    await tick();
    expect(server.used('*')).toBe(0);
    fail = true;
    expect(await within(p.acquire({ timeoutMs: 30 }), 80)).toBeInstanceOf(ConnectionTimeoutError);
    await tick(100);
    expect(server.used('*')).toBe(0);
    expect(b.statistics().database.open).toBe(0);
    expect(b.statistics().counters.returned).toBeGreaterThanOrEqual(2);
  });

  it('waits for a slot while the budget is full and takes it as soon as another instance gives one back', async () => {
    const a = budget('a', { maxConnections: 2 });
    const b = budget('b', { maxConnections: 2 });
    const pa = await pool(a);
    const pb = await pool(b);
    const held = [await pa.acquire(), await pa.acquire()];
    const refused: string[] = [];
    b.on('refused', (e) => refused.push(e.reason));
    const waiting = pb.acquire();
    await tick(20);
    expect(refused).toEqual(['capacity']);
    expect(b.statistics().database.waiting).toBe(1);
    await (held[0] as { destroy(): Promise<void> }).destroy();
    // The return is announced on the channel: b asks again at once, not after retryIntervalMs.
    await tick(1);
    const conn = await waiting;
    expect(conn.connection.id).toBeGreaterThan(0);
    expect(server.held('b', '*')).toBe(1);
    conn.release();
    held[1]?.release();
  });

  it('asks again at once when the slot was announced free while its refused take was still on the way back', async () => {
    // The announcement comes on the subscriber's connection, the take's reply on the command
    // connection: the announcement can arrive first. It must not be lost until retryIntervalMs.
    let hold: Promise<void> | null = null;
    let letReplyThrough = (): void => {};
    const a = budget('a', { maxConnections: 1, retryIntervalMs: 10_000 });
    const b = budgetOnStore('b', { maxConnections: 1, retryIntervalMs: 10_000 }, (store) => ({
      take: async (req: Parameters<MemoryStore['take']>[0]) => {
        const reply = await store.take(req);
        if (hold !== null) await hold;
        return reply;
      },
    }));
    const pa = await pool(a);
    const pb = await pool(b, trackingFactory(), { acquireTimeoutMs: 30_000 });
    const held = await pa.acquire();
    hold = new Promise<void>((resolve) => {
      letReplyThrough = resolve;
    });
    const waiting = pb.acquire();
    await tick(1); // b's take ran in the store (refused: a holds the only slot); its reply is held back
    expect(server.wanting.size).toBe(1);
    await held.destroy(); // a gives the slot back; the store announces it
    await tick(1);
    hold = null;
    letReplyThrough(); // now the refusal arrives, after the announcement
    let conn: { release(): void } | undefined;
    void waiting.then((c) => {
      conn = c;
    });
    await tick(50); // far below retryIntervalMs
    expect(conn).toBeDefined();
    conn?.release();
    if (conn === undefined)
      void waiting.then(
        (c) => c.release(),
        () => {},
      );
  });

  it('polls for a freed slot while its subscription to the channel is not up yet', async () => {
    const a = budget('a', { maxConnections: 1, retryIntervalMs: 10_000 });
    // A subscriber that never manages to subscribe: no announcement can reach b.
    const b = budgetOnStore('b', { maxConnections: 1, retryIntervalMs: 10_000 }, () => ({
      subscribe: () => new Promise<void>(() => {}),
    }));
    const pa = await pool(a);
    const pb = await pool(b, trackingFactory(), { acquireTimeoutMs: 30_000 });
    await within(b.ready(), 1_000); // gives up waiting for the subscription after commandTimeoutMs
    expect(b.state).toBe('connected');
    const held = await pa.acquire();
    let conn: { release(): void } | undefined;
    void pb.acquire().then((c) => {
      conn = c;
    });
    await tick(20);
    expect(b.statistics().counters.refused.capacity).toBe(1);
    await held.destroy();
    await tick(250); // a few polls, far below retryIntervalMs
    expect(conn).toBeDefined();
    conn?.release();
  });

  it('stops waiting for a slot when the pool no longer needs the connection, so later timeouts carry BudgetExhaustedError', async () => {
    const a = budget('a', { maxConnections: 1 });
    const b = budget('b', { maxConnections: 1 });
    const pa = await pool(a);
    const pb = await pool(b);
    const held = await pa.acquire();
    expect(await within(pb.acquire({ timeoutMs: 300 }), 350)).toBeInstanceOf(ConnectionTimeoutError);
    await tick(300);
    expect(b.statistics().database.waiting).toBe(0);
    expect(b.statistics().counters.abandoned).toBe(1);
    const error = await within(pb.acquire({ timeoutMs: 300 }), 350);
    expect(error).toBeInstanceOf(ConnectionTimeoutError);
    expect((error as ConnectionTimeoutError).cause).toBeInstanceOf(BudgetExhaustedError);
    expect((error as { cause: BudgetExhaustedError }).cause).toMatchObject({
      budget: 'db',
      tenant: null,
      reason: 'capacity',
      used: 1,
      limit: 1,
    });
    held.release();
  });

  it('counts a tenant’s connections against the tenant limit and the database budget', async () => {
    const b = budget('a', { maxConnections: 3, tenants: { acme: 1 } });
    const acme = await b.createPool({ ...POOL }, trackingFactory(), { tenant: 'acme' });
    cleanup.unshift(() => acme.close());
    const plain = await pool(b);
    const first = await acme.acquire();
    expect(await within(acme.acquire({ timeoutMs: 200 }), 250)).toBeInstanceOf(ConnectionTimeoutError);
    const others = [await plain.acquire(), await plain.acquire()];
    expect(server.used('*')).toBe(3);
    expect(server.used('t:acme')).toBe(1);
    expect(b.statistics().tenants.acme).toMatchObject({ limit: 1, held: 1, open: 1 });
    expect(() => b.wrap(trackingFactory(), { tenant: 'globex' })).toThrow(InvalidArgumentError);
    first.release();
    for (const c of others) c.release();
  });

  it('renews every lease with one call per heartbeat, however many it holds', async () => {
    const b = budget('a', { maxConnections: 10 });
    const p = await pool(b, trackingFactory(), { maxSize: 10 });
    const conns = await Promise.all(Array.from({ length: 6 }, () => p.acquire()));
    const renewals = server.calls.renew ?? 0;
    await tick(3_000);
    expect((server.calls.renew ?? 0) - renewals).toBe(3);
    expect(server.instances.get('a')).toBeGreaterThan(Date.now());
    for (const c of conns) c.release();
  });

  it('re-registers when the heartbeat finds Redis holding other leases than it should (a write lost in a failover)', async () => {
    const b = budget('a');
    const p = await pool(b);
    const conns = [await p.acquire(), await p.acquire()];
    server.leases.get('a')?.clear();
    expect(server.used('*')).toBe(0);
    await tick(1_000);
    await tick();
    expect(server.used('*')).toBe(2);
    expect(b.statistics().counters.recoveries).toBe(1);
    for (const c of conns) c.release();
  });
});

describe('ClusterBudget: Redis unreachable', () => {
  it("'hold' keeps open connections, replaces closed ones, and opens none beyond what it held", async () => {
    const b = budget('a');
    const states: BudgetState[] = [];
    b.on('state', (e) => states.push(e.to));
    const errors: unknown[] = [];
    b.on('error', (e) => errors.push(e.error));
    const p = await pool(b);
    const [c1, c2] = [await p.acquire(), await p.acquire()];
    c1.release();
    c2.release();
    server.setReachable(false);
    await tick();
    expect(b.state).toBe('degraded');
    expect(errors.length).toBe(1);
    const stats = b.statistics();
    expect(stats.fallbackCap).toBe(2);
    expect(stats.degradedSince).not.toBeNull();
    // The two open connections keep serving.
    const again = [await p.acquire(), await p.acquire()];
    const error = await within(p.acquire({ timeoutMs: 300 }), 350);
    expect(error).toBeInstanceOf(ConnectionTimeoutError);
    await tick(200);
    const second = await within(p.acquire({ timeoutMs: 300 }), 350);
    expect((second as ConnectionTimeoutError).cause).toBeInstanceOf(BudgetUnavailableError);
    // A connection that closes may be replaced: the slot was this instance's.
    await again[0]?.destroy();
    const replacement = (await within(p.acquire(), 100)) as Awaited<ReturnType<typeof p.acquire>>;
    expect(replacement.connection.id).toBeGreaterThan(0);
    expect(p.size().total).toBe(2);
    expect(b.statistics().counters.fallbackGranted).toBe(1);
    server.setReachable(true);
    await tick();
    expect(b.state).toBe('connected');
    expect(server.used('*')).toBe(2);
    expect(states).toEqual(['connected', 'degraded', 'connected']);
    replacement.release();
    again[1]?.release();
  });

  it("'hold' with fallbackMaxConnections opens connections up to that cap", async () => {
    const b = budget('a', { fallbackMaxConnections: 3 });
    const p = await pool(b);
    server.setReachable(false);
    await tick();
    const conns = [await p.acquire(), await p.acquire(), await p.acquire()];
    expect(await within(p.acquire({ timeoutMs: 200 }), 250)).toBeInstanceOf(ConnectionTimeoutError);
    expect(b.statistics().database).toMatchObject({ open: 3, held: 0, unleased: 3 });
    for (const c of conns) c.release();
  });

  it("'local' ignores the budget while Redis is away, then sheds what the budget cannot take back", async () => {
    const a = budget('a', { maxConnections: 3, onRedisUnavailable: 'local' });
    const other = budget('b', { maxConnections: 3 });
    const pa = await pool(a);
    const pb = await pool(other);
    const theirs = [await pb.acquire(), await pb.acquire()];
    const mine = await pa.acquire();
    server.setReachable(false);
    await tick();
    const more = [await pa.acquire(), await pa.acquire(), await pa.acquire()];
    expect(pa.size().total).toBe(4);
    more[2]?.release();
    const shed: number[] = [];
    a.on('shed', (e) => shed.push(e.excess));
    server.setReachable(true);
    await tick();
    // Room for one of a's four: three are shed, the idle one now, the borrowed ones as they come back.
    expect(shed).toEqual([3]);
    expect(server.used('*')).toBe(3);
    expect(pa.size().total).toBe(3);
    more[0]?.release();
    more[1]?.release();
    await tick();
    expect(pa.size().total).toBe(1);
    expect(pa.config.maxSize).toBe(4); // the pool's own size is given back once the excess is gone
    expect(a.statistics().database).toMatchObject({ held: 1, open: 1, unleased: 0 });
    mine.release();
    for (const c of theirs) c.release();
  });

  it("'strict' gives its connections up once its leases may have expired, and opens none without Redis", async () => {
    const b = budget('a', { onRedisUnavailable: 'strict' });
    const p = await pool(b, trackingFactory(), { minSize: 1 });
    const borrowed = await p.acquire();
    (await p.acquire()).release();
    server.setReachable(false);
    await tick();
    expect(p.size().total).toBe(2);
    await tick(3_000);
    // Idle ones closed at once; the borrowed one works until it is released, then closes.
    expect(p.size()).toMatchObject({ total: 1, active: 1 });
    borrowed.release();
    await tick();
    expect(p.size().total).toBe(0);
    expect(await within(p.acquire({ timeoutMs: 200 }), 250)).toBeInstanceOf(ConnectionTimeoutError);
    server.setReachable(true);
    await tick(100);
    expect(b.state).toBe('connected');
    expect(p.config).toMatchObject({ minSize: 1, maxSize: 4 });
    (await p.acquire()).release();
  });

  it('an instance that starts while Redis is unreachable opens nothing under hold, and registers when Redis comes', async () => {
    server.setReachable(false);
    const b = budget('a');
    await b.ready();
    expect(b.state).toBe('degraded');
    expect(b.statistics().fallbackCap).toBe(0);
    const p = await pool(b);
    expect(await within(p.acquire({ timeoutMs: 200 }), 250)).toBeInstanceOf(ConnectionTimeoutError);
    server.setReachable(true);
    await tick();
    expect(b.state).toBe('connected');
    (await p.acquire()).release();
    expect(server.used('*')).toBe(1);
  });

  it('after Redis lost its state, re-registers at the next heartbeat and grows only once the recovery window is over', async () => {
    const a = budget('a');
    const p = await pool(a);
    const conn = await p.acquire();
    server.loseState();
    const states: BudgetState[] = [];
    a.on('state', (e) => states.push(e.to));
    await tick(1_000);
    expect(states).toEqual(['recovering', 'connected']);
    expect(server.used('*')).toBe(1);
    expect(server.recoverUntil).toBeGreaterThan(Date.now());
    const refusals: string[] = [];
    a.on('refused', (e) => refusals.push(e.reason));
    const more = p.acquire({ timeoutMs: 5_000 });
    await tick(100);
    expect(refusals).toEqual(['recovering']);
    await tick(3_000);
    (await more).release();
    conn.release();
  });
});

describe('ClusterBudget: fair sharing', () => {
  it('closes idle connections above its fair share when an instance below it asks, and holds the pool smaller for a while', async () => {
    const a = budget('a', { maxConnections: 4, shrinkHoldMs: 2_000 });
    const b = budget('b', { maxConnections: 4 });
    const pa = await pool(a);
    const pb = await pool(b);
    const four = await Promise.all([pa.acquire(), pa.acquire(), pa.acquire(), pa.acquire()]);
    for (const c of four.slice(0, 3)) c.release();
    const received: unknown[] = [];
    a.on('shrink', (e) => received.push(e));
    const conn = await pb.acquire();
    // a held 4 with a share of 2: it closed its 2 surplus... idle ones at once (3 were idle) and b got one.
    expect(received).toEqual([{ direction: 'received', tenant: null, share: 2, from: 'b', pool: pa.name, closed: 2, heldAt: null }]);
    expect(pa.size().total).toBe(2);
    expect(server.held('b', '*')).toBe(1);
    expect(a.statistics().counters).toMatchObject({ shrinkRequestsReceived: 1, shrinkClosed: 2 });
    expect(b.statistics().counters.shrinkRequestsSent).toBe(1);
    conn.release();
    four[3]?.release();
  });

  it('holds a busy pool at its fair share so borrowed connections above it close when released', async () => {
    const a = budget('a', { maxConnections: 2, shrinkHoldMs: 2_000 });
    const b = budget('b', { maxConnections: 2 });
    const pa = await pool(a);
    const pb = await pool(b);
    const busy = [await pa.acquire(), await pa.acquire()];
    const waiting = pb.acquire({ timeoutMs: 5_000 });
    await tick(10);
    expect(pa.config.maxSize).toBe(1);
    busy[0]?.release();
    await tick(10);
    (await waiting).release();
    expect(server.held('b', '*')).toBe(1);
    await tick(2_000);
    expect(pa.config.maxSize).toBe(4);
    busy[1]?.release();
  });
});

describe('ClusterBudget: lifecycle and input', () => {
  it('leaves the budget on close, and a wrapped factory opens nothing afterwards', async () => {
    const b = budget('a');
    const factory = trackingFactory();
    const wrapped = b.wrap(factory);
    await b.ready();
    expect(server.instances.has('a')).toBe(true);
    await b.close();
    expect(server.instances.has('a')).toBe(false);
    expect(b.state).toBe('closed');
    await expect(wrapped.create({ signal: new AbortController().signal, markBroken: () => {} })).rejects.toBeInstanceOf(BudgetClosedError);
  });

  it('refuses to attach a pool whose factory it did not wrap', async () => {
    const b = budget('a');
    const other = budget('b');
    const p = await other.createPool(POOL, trackingFactory());
    cleanup.unshift(() => p.close());
    expect(() => b.attach(p)).toThrow(/must use a factory returned by this budget's wrap/);
  });

  it('rejects bad options naming the field and the rule', () => {
    const make = (o: Record<string, unknown>) => () =>
      new ClusterBudget({ redis: 'redis://127.0.0.1:1', name: 'db', maxConnections: 5, ...o } as ClusterBudgetOptions);
    expect(make({ name: 'a{b}' })).toThrow(InvalidConfigError);
    expect(make({ name: 'a{b}' })).toThrow(/hash tag/);
    expect(make({ maxConnections: 0 })).toThrow(/maxConnections = 0/);
    expect(make({ leaseTtlMs: 1_000, heartbeatIntervalMs: 600 })).toThrow(/heartbeatIntervalMs = 600: must be at most half of leaseTtlMs/);
    expect(make({ onRedisUnavailable: 'panic' })).toThrow(/'hold', 'local' or 'strict'/);
    expect(make({ onRedisUnavailable: 'local', fallbackMaxConnections: 2 })).toThrow(/only applies to onRedisUnavailable: 'hold'/);
    expect(make({ tenants: { acme: 9 } })).toThrow(/tenants.acme = 9: must not exceed maxConnections/);
    expect(make({ maxConection: 3 })).toThrow(/maxConection = 3: is not a cluster budget option/);
    expect(make({ redis: 42 })).toThrow(/redis = 42/);
  });
});
