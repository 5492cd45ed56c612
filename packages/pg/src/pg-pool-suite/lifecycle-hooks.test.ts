// Port of node-postgres packages/pg-pool/test/lifecycle-hooks.js (brianc/node-postgres c9e57617), run against createPgPool.
import { describe, expect, it } from 'vitest';
import type { PgPoolClient } from '../pool.js';
import { Pool } from './support.js';

type Hooked = { HOOK_CONNECT_COUNT?: number | undefined; HOOK_CONNECT_RESULT?: number | undefined };
type HookedClient = PgPoolClient & Hooked;

describe('lifecycle hooks', () => {
  it('are called on connect', async () => {
    const pool = Pool({
      onConnect: (client: Hooked) => {
        client.HOOK_CONNECT_COUNT = (client.HOOK_CONNECT_COUNT || 0) + 1;
      },
    } as never);
    const client = (await pool.connect()) as HookedClient;
    expect(client.HOOK_CONNECT_COUNT).toEqual(1);
    client.release();
    const client2 = (await pool.connect()) as typeof client;
    expect(client).toEqual(client2);
    expect(client2.HOOK_CONNECT_COUNT).toEqual(1);
    client.release();
    await pool.end();
  });

  it('are called on connect with an async hook', async () => {
    const pool = Pool({
      onConnect: async (client: { query(text: string): Promise<{ rows: { num: number }[] }> } & Hooked) => {
        const res = await client.query('SELECT 1 AS num');
        client.HOOK_CONNECT_RESULT = res.rows[0]?.num;
      },
    } as never);
    const client = (await pool.connect()) as HookedClient;
    expect(client.HOOK_CONNECT_RESULT).toEqual(1);
    const res = await client.query('SELECT 1 AS num');
    expect(res.rows[0].num).toEqual(1);
    client.release();
    const client2 = (await pool.connect()) as typeof client;
    expect(client).toEqual(client2);
    expect(client2.HOOK_CONNECT_RESULT).toEqual(1);
    client.release();
    await pool.end();
  });

  it('errors out the connect call if the async connect hook rejects', async () => {
    const pool = Pool({
      onConnect: async (client: { query(text: string): Promise<unknown> }) => {
        await client.query('SELECT INVALID HERE');
      },
    } as never);
    try {
      await pool.connect();
      throw new Error('Expected connect to throw');
    } catch (err) {
      expect((err as Error).message).toContain('invalid');
    }
    await pool.end();
  });

  it('calls onConnect when using pool.query', async () => {
    const pool = Pool({
      onConnect: async (client: { query(text: string): Promise<{ rows: { num: number }[] }> } & Hooked) => {
        const res = await client.query('SELECT 1 AS num');
        client.HOOK_CONNECT_RESULT = res.rows[0]?.num;
      },
    } as never);
    const res = await pool.query<{ name: string }>('SELECT $1::text AS name', ['brianc']);
    expect(res.rows[0]?.name).toEqual('brianc');
    const client = (await pool.connect()) as HookedClient;
    expect(client.HOOK_CONNECT_RESULT).toEqual(1);
    client.release();
    await pool.end();
  });

  it('recovers after a hook error', async () => {
    let shouldError = true;
    const pool = Pool({
      onConnect: () => {
        if (shouldError) {
          throw new Error('connect hook error');
        }
      },
    });
    try {
      await pool.connect();
      throw new Error('Expected connect to throw');
    } catch (err) {
      expect((err as Error).message).toEqual('connect hook error');
    }
    shouldError = false;
    const client = await pool.connect();
    const res = await client.query('SELECT 1 AS num');
    expect(res.rows[0].num).toEqual(1);
    client.release();
    await pool.end();
  });

  it('calls onConnect for each new client', async () => {
    let connectCount = 0;
    const pool = Pool({
      max: 2,
      onConnect: async (client) => {
        connectCount++;
        await client.query('SELECT 1');
      },
    });
    const client1 = await pool.connect();
    const client2 = await pool.connect();
    expect(connectCount).toEqual(2);
    expect(client1).not.toEqual(client2);
    client1.release();
    client2.release();
    await pool.end();
  });

  it('cleans up clients after repeated hook failures', async () => {
    let errorCount = 0;
    const pool = Pool({
      max: 2,
      onConnect: () => {
        if (errorCount < 10) {
          errorCount++;
          throw new Error('connect hook error');
        }
      },
    });
    for (let i = 0; i < 10; i++) {
      let threw = false;
      try {
        await pool.connect();
      } catch (err) {
        threw = true;
        expect((err as Error).message).toEqual('connect hook error');
      }
      expect(threw).toEqual(true);
    }
    expect(errorCount).toEqual(10);
    expect(pool.totalCount).toEqual(0);
    expect(pool.idleCount).toEqual(0);
    const client1 = await pool.connect();
    const res1 = await client1.query('SELECT 1 AS num');
    expect(res1.rows[0].num).toEqual(1);
    const client2 = await pool.connect();
    const res2 = await client2.query('SELECT 2 AS num');
    expect(res2.rows[0].num).toEqual(2);
    expect(pool.totalCount).toEqual(2);
    client1.release();
    client2.release();
    await pool.end();
  });

  it('errors out the connect call if the connect hook throws', async () => {
    const pool = Pool({
      onConnect: () => {
        throw new Error('connect hook error');
      },
    });
    try {
      await pool.connect();
      throw new Error('Expected connect to throw');
    } catch (err) {
      expect((err as Error).message).toEqual('connect hook error');
    }
    await pool.end();
  });
});
