/**
 * The same conformance suite with ioredis 5 (a dev dependency aliased as `ioredis5`), which speaks
 * RESP2 only and has no `protocol` option: the peer range covers both majors, so both are checked.
 */
import { testAdapter } from '@pool/testkit/conformance';
import IORedis5 from 'ioredis5';
import { type RedisClass, redisFactory } from './factory.js';
import { clientInfo, kill, REDIS_TARGET, SECRET, secretUrl, urlVia } from './test-support/redis.js';

const Redis = IORedis5 as unknown as RedisClass;

testAdapter({
  name: '@pool/redis with ioredis 5 against Redis',
  factory: async () => redisFactory(await secretUrl(), { Redis }),
  ping: (conn) => conn.client.ping(),
  killConnection: (conn) => kill(conn.clientId),
  setSessionState: async (conn) => {
    await conn.client.select(3);
    await conn.client.client('SETNAME', 'pool-conformance');
  },
  readSessionState: async (conn) => {
    const { db, name, resp, user } = await clientInfo(conn.clientId);
    return { db, name, resp, user };
  },
  beginTransaction: async (conn) => {
    await conn.client.call('MULTI');
  },
  inTransaction: async (conn) => (await clientInfo(conn.clientId)).multi !== '-1',
  validationQueries: { valid: 'PING', invalid: 'NO_SUCH_COMMAND' },
  proxy: { target: REDIS_TARGET, factory: async (address) => redisFactory(urlVia(address, await secretUrl()), { Redis }) },
  unreachableFactory: async () => redisFactory(urlVia({ host: '127.0.0.1', port: 1 }, await secretUrl()), { Redis }),
  secret: SECRET,
  capabilities: { dirtyTracking: true, statistics: true },
});
