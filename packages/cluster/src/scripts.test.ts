import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BudgetMessage, RedisBudgetStore, type ScopeLimit } from './store.js';
import { deleteKeys, PrivateRedis, REDIS_URL, uniquePrefix } from './test-support/redis.js';

// The Lua scripts against the real Redis, through the store that runs them. Each test uses a budget
// name of its own under a prefix unique to this run; the shared server is never flushed.

const prefix = uniquePrefix();
let client: Redis;
let counter = 0;

beforeAll(() => {
  client = new Redis(REDIS_URL);
});

afterAll(async () => {
  await deleteKeys(REDIS_URL, prefix);
  client.disconnect();
});

const DB = (limit: number): ScopeLimit[] => [{ scope: '*', limit }];

/** A fresh budget (its own key base) and a way to make instances of it. */
function budget(): { base: string; store: (id: string, ttlMs?: number) => RedisBudgetStore } {
  const base = `${prefix}{b${++counter}}`;
  return { base, store: (id) => new RedisBudgetStore(client, false, base, id, 60_000, 2_000) };
}

async function register(store: RedisBudgetStore, ttlMs = 10_000): Promise<string> {
  return (await store.claim({ knownEpoch: '', ttlMs, scopes: DB(1), leases: [] })).epoch;
}

function take(store: RedisBudgetStore, epoch: string, ids: string[], scopes: ScopeLimit[], ttlMs = 10_000) {
  return store.take({ epoch, ttlMs, wantTtlMs: 5_000, shrinkGapMs: 60_000, scopes, ids });
}

async function serverMs(): Promise<number> {
  const [s, us] = await client.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

async function waitServerPast(t: number): Promise<void> {
  for (let i = 0; i < 200 && (await serverMs()) <= t; i++) await new Promise((r) => setTimeout(r, 25));
}

describe('budget scripts', () => {
  it('grant slots up to the limit, then refuse for capacity, counting per instance', async () => {
    const { store } = budget();
    const a = store('a');
    const b = store('b');
    const epoch = await register(a);
    await register(b);
    const ra = await take(a, epoch, ['1', '2', '3'], DB(4));
    expect(ra).toMatchObject({ status: 'OK', granted: 3, reason: '', used: [3], live: 2 });
    const rb = await take(b, epoch, ['1', '2'], DB(4));
    expect(rb).toMatchObject({ status: 'OK', granted: 1, reason: 'capacity', used: [4] });
    const snap = await a.inspect();
    expect(snap.used['*']).toBe(4);
    expect(snap.held).toEqual(
      expect.arrayContaining([
        { scope: '*', instance: 'a', leases: 3 },
        { scope: '*', instance: 'b', leases: 1 },
      ]),
    );
  });

  it('count a lease id taken twice once (a retried take is idempotent)', async () => {
    const { store } = budget();
    const a = store('a');
    const epoch = await register(a);
    await take(a, epoch, ['x'], DB(5));
    const again = await take(a, epoch, ['x'], DB(5));
    expect(again).toMatchObject({ granted: 1, used: [1] });
  });

  it('give slots back idempotently, ignoring ids the instance does not hold', async () => {
    const { store } = budget();
    const a = store('a');
    const b = store('b');
    const epoch = await register(a);
    await register(b);
    await take(a, epoch, ['1', '2'], DB(5));
    await take(b, epoch, ['1'], DB(5));
    expect(await a.giveBack(['1', 'nope'])).toEqual({ returned: 1, held: 1 });
    expect(await a.giveBack(['1'])).toEqual({ returned: 0, held: 1 });
    const snap = await a.inspect();
    expect(snap.used['*']).toBe(2); // b's lease '1' is untouched
  });

  it("expire an instance's slots leaseTtl after its last renewal, by Redis server time, at the next script call", async () => {
    const { store } = budget();
    const a = store('a');
    const b = store('b');
    const epoch = await register(a, 400);
    await register(b);
    const before = await serverMs();
    await take(a, epoch, ['1', '2'], DB(3), 400);
    const after = await serverMs();
    const expiry = (await b.inspect()).instances.find((i) => i.id === 'a')?.expiresAt as number;
    // The take renewed a: its expiry is the server time of the take plus the TTL.
    expect(expiry).toBeGreaterThanOrEqual(before + 400);
    expect(expiry).toBeLessThanOrEqual(after + 400);
    expect(await take(b, epoch, ['1', '2'], DB(3))).toMatchObject({ granted: 1 });
    await waitServerPast(expiry);
    // b's next call sweeps a: both of a's slots are free again.
    expect(await take(b, epoch, ['2', '3'], DB(3))).toMatchObject({ granted: 2, used: [3], live: 1 });
    expect((await b.inspect()).instances.map((i) => i.id)).toEqual(['b']);
  });

  it('renew every lease of an instance in one call, and tell a late instance it is unknown', async () => {
    const { store } = budget();
    const a = store('a');
    const epoch = await register(a, 300);
    await take(a, epoch, ['1', '2', '3'], DB(5), 300);
    const r = await a.renew({ epoch, ttlMs: 300, scopes: ['*'] });
    expect(r).toMatchObject({ status: 'OK', leases: 3, live: 1, used: [3], mine: [3] });
    const expiry = (await a.inspect()).instances[0]?.expiresAt as number;
    await waitServerPast(expiry);
    expect(await a.renew({ epoch, ttlMs: 300, scopes: ['*'] })).toEqual({ status: 'UNKNOWN' });
    expect(await take(a, epoch, ['4'], DB(5))).toEqual({ status: 'UNKNOWN' });
  });

  it('answer EPOCH when the state an instance registered with is gone', async () => {
    const { base, store } = budget();
    const a = store('a');
    const epoch = await register(a);
    await client.del(`${base}:meta`);
    expect(await a.renew({ epoch, ttlMs: 10_000, scopes: ['*'] })).toEqual({ status: 'EPOCH' });
    expect(await take(a, epoch, ['1'], DB(5))).toEqual({ status: 'EPOCH' });
  });

  it('after Redis lost the state, refuse new slots for one lease TTL while instances re-claim what they hold', async () => {
    const { base, store } = budget();
    const a = store('a');
    const b = store('b');
    const old = await register(a, 500);
    await register(b, 500);
    await take(a, old, ['1', '2'], DB(4), 500);
    // Redis restarts without persistence: every key of the budget is gone.
    const keys = await client.keys(`${base}:*`);
    await client.del(...keys);
    const claimA = await a.claim({
      knownEpoch: old,
      ttlMs: 500,
      scopes: DB(4),
      leases: [
        { id: '1', scopes: [0] },
        { id: '2', scopes: [0] },
      ],
    });
    expect(claimA.epoch).not.toBe(old);
    expect(claimA.granted).toEqual([true, true]);
    expect(claimA.recoverLeftMs).toBeGreaterThan(0);
    // b still knows the old state: its take is sent back to re-claim first, not granted over a's head.
    expect(await take(b, old, ['9'], DB(4), 500)).toEqual({ status: 'EPOCH' });
    const claimB = await b.claim({ knownEpoch: old, ttlMs: 5_000, scopes: DB(4), leases: [{ id: '1', scopes: [0] }] });
    expect(claimB.granted).toEqual([true]);
    const during = await take(b, claimB.epoch, ['2'], DB(4), 5_000);
    expect(during).toMatchObject({ status: 'OK', granted: 0, reason: 'recovering' });
    if (during.status === 'OK') expect(during.retryMs).toBeGreaterThan(0);
    const snap = await a.inspect();
    expect(snap.recoverUntil).toBeGreaterThan(snap.nowMs);
    await waitServerPast(snap.recoverUntil);
    expect(await take(b, claimB.epoch, ['2'], DB(4), 5_000)).toMatchObject({ granted: 1 });
  });

  it('replace an instance’s leases on claim, granting in order while there is room', async () => {
    const { store } = budget();
    const a = store('a');
    const b = store('b');
    const epoch = await register(a);
    await register(b);
    await take(a, epoch, ['1', '2'], DB(3));
    await take(b, epoch, ['1'], DB(3));
    // a re-registers three connections: only two fit beside b's one.
    const c = await a.claim({
      knownEpoch: epoch,
      ttlMs: 10_000,
      scopes: DB(3),
      leases: ['1', '2', '7'].map((id) => ({ id, scopes: [0] })),
    });
    expect(c.granted).toEqual([true, true, false]);
    expect(c.recoverLeftMs).toBe(0);
    // a claim of fewer leases gives the rest back.
    await a.claim({ knownEpoch: epoch, ttlMs: 10_000, scopes: DB(3), leases: [{ id: '1', scopes: [0] }] });
    expect((await a.inspect()).used['*']).toBe(2);
  });

  it('count a tenant lease against both the database and the tenant limit, atomically', async () => {
    const { store } = budget();
    const a = store('a');
    const epoch = await register(a);
    const scopes = [
      { scope: '*', limit: 10 },
      { scope: 't:acme', limit: 2 },
    ];
    expect(await take(a, epoch, ['1', '2', '3'], scopes)).toMatchObject({ granted: 2, reason: 'capacity', used: [2, 2] });
    // The database budget still has room for others.
    expect(await take(a, epoch, ['4'], DB(10))).toMatchObject({ granted: 1, used: [3] });
    await a.giveBack(['1']);
    const snap = await a.inspect();
    expect(snap.used).toEqual({ '*': 2, 't:acme': 1 });
  });

  it('let an instance below its fair share take the next free slot first, and ask the others to shrink once per interval', async () => {
    const { base, store } = budget();
    const a = store('a');
    const b = store('b');
    const epoch = await register(a);
    await register(b);
    const messages: BudgetMessage[] = [];
    const listener = store('listener');
    await listener.subscribe((m) => messages.push(m));
    await take(a, epoch, ['1', '2', '3', '4'], DB(4));
    const refused = await b.take({ epoch, ttlMs: 10_000, wantTtlMs: 5_000, shrinkGapMs: 60_000, scopes: DB(4), ids: ['1'] });
    expect(refused).toMatchObject({ granted: 0, reason: 'capacity', shrinkRequested: true });
    const again = await b.take({ epoch, ttlMs: 10_000, wantTtlMs: 5_000, shrinkGapMs: 60_000, scopes: DB(4), ids: ['1'] });
    expect(again).toMatchObject({ granted: 0, reason: 'capacity', shrinkRequested: false });
    await a.giveBack(['4']);
    // a holds 3, above its share of 2, while b (holding 0) waits: a is refused, b is served.
    expect(await take(a, epoch, ['5'], DB(4))).toMatchObject({ granted: 0, reason: 'fairness' });
    expect(await take(b, epoch, ['1'], DB(4))).toMatchObject({ granted: 1, reason: '' });
    for (let i = 0; i < 100 && messages.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(messages).toContainEqual({ type: 'shrink', scope: '*', share: 2, from: 'b', live: 2, at: expect.any(Number) });
    expect(messages).toContainEqual({ type: 'freed', n: 1 });
    expect(listener.channel).toBe(`${base}:events`);
    await listener.close();
  });

  it('forget an instance that deregisters, giving back all its slots at once', async () => {
    const { store } = budget();
    const a = store('a');
    const epoch = await register(a);
    await take(a, epoch, ['1', '2'], DB(5));
    expect(await a.deregister()).toBe(2);
    const snap = await a.inspect();
    expect(snap.instances).toEqual([]);
    expect(snap.used['*'] ?? 0).toBe(0);
  });

  it('run each script with EVALSHA, loading it with EVAL only when the server answers NOSCRIPT', async () => {
    const server = await PrivateRedis.start();
    const own = new Redis(server.url);
    try {
      const a = new RedisBudgetStore(own, false, `${prefix}{noscript}`, 'a', 60_000, 2_000);
      const epoch = await register(a);
      await take(a, epoch, ['1'], DB(5));
      await take(a, epoch, ['2'], DB(5));
      let calls = await server.commandCalls();
      // claim and take: one NOSCRIPT each, then EVAL; the second take is a plain EVALSHA.
      expect(calls.eval).toBe(2);
      expect(calls.evalsha).toBe(3);
      await own.script('FLUSH'); // what a restart does to the script cache
      await take(a, epoch, ['3'], DB(5));
      calls = await server.commandCalls();
      expect(calls.eval).toBe(3);
      expect((await a.inspect()).used['*']).toBe(3);
    } finally {
      own.disconnect();
      await server.stop();
    }
  });

  it('keep every key of a budget in one Redis Cluster hash slot (the {name} tag)', async () => {
    const { base, store } = budget();
    const a = store('a');
    const epoch = await register(a);
    await take(a, epoch, ['1'], DB(2));
    const keys = await client.keys(`${base}:*`);
    expect(keys.length).toBeGreaterThanOrEqual(5);
    const tag = /\{([^}]+)\}/.exec(base)?.[1];
    for (const k of keys) expect(/\{([^}]+)\}/.exec(k)?.[1]).toBe(tag);
  });
});
