/**
 * The adapter against @pool/testkit's conformance suite, the way any third-party adapter checks
 * itself: a real server (the LineKV server this example ships, started here on a free port), a kill
 * from another connection, session state, transactions, network faults through the suite's FaultProxy,
 * an unreachable server, and a password that must never show.
 */
import { testAdapter } from '@pool/testkit/conformance';
import { afterAll, expect, it } from 'vitest';
import { LineKvServer } from '../server/linekv-server.js';
import { LineKvClient, type LineKvConnection, linekvFactory } from '../src/index.js';

const SECRET = 'linekv-conformance-secret';
const server = await LineKvServer.start({ password: SECRET });
afterAll(() => server.close());

const url = (address = server.address) => `linekv://:${SECRET}@${address}`;

/** What a database administrator does: end a session from another connection. */
async function kill(conn: LineKvConnection): Promise<void> {
  const admin = await LineKvClient.connect({ host: server.host, port: server.port, password: SECRET });
  try {
    await admin.command('KILL', String(conn.id));
  } finally {
    await admin.quit();
  }
}

testAdapter<LineKvConnection>({
  name: 'pool-adapter-linekv',
  factory: () => linekvFactory(url()),
  ping: (conn) => conn.command('PING'),
  killConnection: kill,
  setSessionState: async (conn) => {
    await conn.command('USE', 'tenant_42');
  },
  readSessionState: (conn) => conn.command('NAMESPACE'),
  beginTransaction: async (conn) => {
    await conn.command('BEGIN');
  },
  // Ask the server, not the adapter's own bookkeeping.
  inTransaction: async (conn) => (await conn.command('TXSTATUS')) === 'tx',
  validationQueries: { valid: 'PING', invalid: 'NO_SUCH_COMMAND' },
  proxy: { target: server.address, factory: ({ host, port }) => linekvFactory(url(`${host}:${port}`)) },
  unreachableFactory: () => linekvFactory(url('127.0.0.1:1')),
  secret: SECRET,
  capabilities: { dirtyTracking: true, statistics: true },
  additionalTests(ctx) {
    it('counts commands the server refused in statistics().queryErrors', async () => {
      const { conn, factory } = await ctx.open();
      await expect(conn.command('NO_SUCH_COMMAND')).rejects.toMatchObject({ code: 'ERR' });
      expect(factory.statistics?.()).toEqual({ queryErrors: 1 });
      await conn.command('PING');
    });

    it('a transaction a borrower left open is rolled back before the next borrower gets the connection', async () => {
      const pool = await ctx.pool({ minSize: 1, maxSize: 1 });
      await pool.use(async (conn) => {
        await conn.command('BEGIN');
        await conn.command('SET', 'balance', '1000000');
      });
      expect(await pool.use((conn) => conn.command('GET', 'balance'))).toBeNull();
    });
  },
});
