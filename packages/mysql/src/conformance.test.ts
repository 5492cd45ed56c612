import { testAdapter } from '@pool/testkit/conformance';
import { mysqlFactory } from './factory.js';
import { kill, MYSQL_TARGET, SECRET, secretUrl, urlVia } from './test-support/mysql.js';

testAdapter({
  name: '@pool/mysql against MariaDB/MySQL',
  factory: async () => mysqlFactory(await secretUrl(), { statementCacheSize: 10 }),
  ping: (conn) => conn.ping(),
  killConnection: (conn) => kill(conn.threadId),
  setSessionState: async (conn) => {
    await conn.query("SET SESSION time_zone = '+05:00', @pool_conformance = 42");
  },
  readSessionState: async (conn) => (await conn.query('SELECT @@session.time_zone AS tz, @pool_conformance AS v'))[0],
  beginTransaction: (conn) => conn.beginTransaction(),
  // Asks the server (MariaDB and MySQL 8 both have @@in_transaction).
  inTransaction: async (conn) => {
    const [rows] = await conn.query<{ t: number }[] & import('mysql2').RowDataPacket[]>('SELECT @@in_transaction AS t');
    return rows[0]?.t === 1;
  },
  validationQueries: { valid: 'SELECT 1', invalid: 'SELECT no_such_column' },
  proxy: { target: MYSQL_TARGET, factory: async (address) => mysqlFactory(urlVia(address, await secretUrl()), { statementCacheSize: 10 }) },
  unreachableFactory: async () => mysqlFactory(urlVia({ host: '127.0.0.1', port: 1 }, await secretUrl())),
  secret: SECRET,
  capabilities: { dirtyTracking: true, statistics: true },
});
