import { testAdapter } from '@pool/testkit/conformance';
import { redisFactory } from './factory.js';
import { clientInfo, kill, REDIS_TARGET, SECRET, secretUrl, urlVia } from './test-support/redis.js';

/** The session state a borrower can leave behind, read by the connection itself (`CLIENT INFO`, Redis 6.2+). */
async function sessionState(conn: import('./connection.js').RedisConnection): Promise<Record<string, string>> {
  const line = String(await conn.client.call('CLIENT', 'INFO')).trim();
  const fields = Object.fromEntries(line.split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  return { db: String(fields.db), name: String(fields.name), resp: String(fields.resp), user: String(fields.user) };
}

testAdapter({
  name: '@pool/redis against Redis',
  factory: async () => redisFactory(await secretUrl()),
  ping: (conn) => conn.client.ping(),
  killConnection: (conn) => kill(conn.clientId),
  setSessionState: async (conn) => {
    await conn.client.select(3);
    await conn.client.client('SETNAME', 'pool-conformance');
  },
  readSessionState: sessionState,
  beginTransaction: async (conn) => {
    await conn.client.call('MULTI');
  },
  // Asked from another connection: inside MULTI, this connection's own commands are queued.
  inTransaction: async (conn) => (await clientInfo(conn.clientId)).multi !== '-1',
  validationQueries: { valid: 'PING', invalid: 'NO_SUCH_COMMAND' },
  proxy: { target: REDIS_TARGET, factory: async (address) => redisFactory(urlVia(address, await secretUrl())) },
  unreachableFactory: async () => redisFactory(urlVia({ host: '127.0.0.1', port: 1 }, await secretUrl())),
  secret: SECRET,
  capabilities: { dirtyTracking: true, statistics: true },
});
