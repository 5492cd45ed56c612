// Port of node-postgres packages/pg-pool/test/max-uses.js (brianc/node-postgres c9e57617), run against createPgPool.
import { describe, expect, it } from 'vitest';
import { Pool } from './support.js';

type Ending = { _ending: boolean };

describe('maxUses', () => {
  it('can create a single client and use it once', async () => {
    const pool = Pool({ maxUses: 2 });
    expect(pool.waitingCount).toEqual(0);
    const client = await pool.connect();
    const res = await client.query('SELECT $1::text as name', ['hi']);
    expect(res.rows[0].name).toEqual('hi');
    client.release();
    pool.end();
  });

  it('getting a connection a second time returns the same connection and releasing it also closes it', async () => {
    const pool = Pool({ maxUses: 2 });
    expect(pool.waitingCount).toEqual(0);
    const client = await pool.connect();
    client.release();
    const client2 = await pool.connect();
    expect(client).toEqual(client2);
    expect((client2 as unknown as Ending)._ending).toEqual(false);
    client2.release();
    expect((client2 as unknown as Ending)._ending).toEqual(true);
    return await pool.end();
  });

  it('getting a connection a third time returns a new connection', async () => {
    const pool = Pool({ maxUses: 2 });
    expect(pool.waitingCount).toEqual(0);
    const client = await pool.connect();
    client.release();
    const client2 = await pool.connect();
    expect(client).toEqual(client2);
    client2.release();
    const client3 = await pool.connect();
    expect(client3).not.toEqual(client2);
    client3.release();
    return await pool.end();
  });

  it('getting a connection from a pending request gets a fresh client when the released candidate is expended', async () => {
    const pool = Pool({ max: 1, maxUses: 2 });
    expect(pool.waitingCount).toEqual(0);
    const client1 = await pool.connect();
    pool.connect().then((client2) => {
      expect(client2).toEqual(client1);
      expect(pool.waitingCount).toEqual(1);
      // Releasing the client this time should also expend it since maxUses is 2, causing client3 to be a fresh client
      client2.release();
    });
    const client3Promise = pool.connect().then((client3) => {
      // client3 should be a fresh client since client2's release caused the first client to be expended
      expect(pool.waitingCount).toEqual(0);
      expect(client3).not.toEqual(client1);
      return client3.release();
    });
    // There should be two pending requests since we have 3 connect requests but a max size of 1
    expect(pool.waitingCount).toEqual(2);
    // Releasing the client should not yet expend it since maxUses is 2
    client1.release();
    await client3Promise;
    return await pool.end();
  });

  it('logs when removing an expended client', async () => {
    const messages: string[] = [];
    const log = (msg: string) => {
      messages.push(msg);
    };
    const pool = Pool({ maxUses: 1, log });
    const client = await pool.connect();
    client.release();
    expect(messages).toContain('remove expended client');
    return await pool.end();
  });
});
