import { describe, expect, it } from 'vitest';
import { FloorPool } from './floor-pool.js';

interface Item {
  n: number;
  closed: boolean;
}

function factory(options: { fail?: boolean } = {}) {
  let n = 0;
  const created: Item[] = [];
  return {
    created,
    create: (): Promise<Item> => {
      if (options.fail === true) return Promise.reject(new Error('refused'));
      const item = { n: ++n, closed: false };
      created.push(item);
      return Promise.resolve(item);
    },
    destroy: (item: Item): void => {
      item.closed = true;
    },
  };
}

describe('FloorPool', () => {
  it('lends the most recently released idle item first (a stack)', async () => {
    const f = factory();
    const pool = new FloorPool(f, 3);
    await pool.fill(3);
    const [a, b] = [await pool.acquire(), await pool.acquire()];
    pool.release(a);
    pool.release(b);
    expect(await pool.acquire()).toBe(b);
    expect(await pool.acquire()).toBe(a);
  });

  it('opens items lazily and never more than max', async () => {
    const f = factory();
    const pool = new FloorPool(f, 2);
    expect(pool.size).toBe(0);
    const held = await Promise.all([pool.acquire(), pool.acquire()]);
    const third = pool.acquire();
    await Promise.resolve();
    expect(f.created).toHaveLength(2);
    expect(pool.size).toBe(2);
    expect(pool.waiting).toBe(1);
    pool.release(held[0] as Item);
    expect(await third).toBe(held[0]);
  });

  it('hands a released item straight to the oldest waiter, in arrival order', async () => {
    const pool = new FloorPool(factory(), 1);
    const item = await pool.acquire();
    const order: number[] = [];
    const waits = [1, 2, 3].map((i) =>
      pool.acquire().then((x) => {
        order.push(i);
        pool.release(x);
      }),
    );
    pool.release(item);
    await Promise.all(waits);
    expect(order).toEqual([1, 2, 3]);
    expect(pool.idle).toBe(1);
    expect(pool.waiting).toBe(0);
  });

  it('serves thousands of waiters in order while compacting its waiter list', async () => {
    const pool = new FloorPool(factory(), 1);
    const first = await pool.acquire();
    const served: number[] = [];
    const waits = Array.from({ length: 5_000 }, (_, i) =>
      pool.acquire().then((x) => {
        served.push(i);
        pool.release(x);
      }),
    );
    pool.release(first);
    await Promise.all(waits);
    expect(served).toEqual(Array.from({ length: 5_000 }, (_, i) => i));
    expect(pool.waiting).toBe(0);
  });

  it('destroys a lent item and opens a replacement for a waiter', async () => {
    const f = factory();
    const pool = new FloorPool(f, 1);
    const a = await pool.acquire();
    const next = pool.acquire();
    pool.destroy(a);
    const b = await next;
    expect(a.closed).toBe(true);
    expect(b).not.toBe(a);
    expect(pool.size).toBe(1);
  });

  it('rejects the oldest waiter when opening an item fails, and frees the place', async () => {
    const pool = new FloorPool(factory({ fail: true }), 1);
    await expect(pool.acquire()).rejects.toThrow('refused');
    expect(pool.size).toBe(0);
  });

  it('refuses a max below 1', () => {
    expect(() => new FloorPool(factory(), 0)).toThrow(RangeError);
  });
});
