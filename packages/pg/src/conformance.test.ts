import { testAdapter } from '@pool/testkit/conformance';
import { pgFactory } from './factory.js';
import { PG_TARGET, SECRET, SECRET_URL, terminate, urlVia } from './test-support/pg.js';

testAdapter({
  name: '@pool/pg against PostgreSQL',
  factory: () => pgFactory(SECRET_URL, { statementCacheSize: 10 }),
  ping: (conn) => conn.query('SELECT 1'),
  killConnection: (conn) => terminate(conn.processID),
  setSessionState: async (conn) => {
    await conn.query("SET application_name = 'pool-conformance'");
  },
  readSessionState: async (conn) => (await conn.query<{ application_name: string }>('SHOW application_name')).rows[0]?.application_name,
  beginTransaction: async (conn) => {
    await conn.query('BEGIN');
  },
  // Asks the server: inside an explicit transaction, the transaction started before this statement.
  inTransaction: async (conn) =>
    (await conn.query<{ in_tx: boolean }>('SELECT xact_start <> query_start AS in_tx FROM pg_stat_activity WHERE pid = pg_backend_pid()'))
      .rows[0]?.in_tx === true,
  validationQueries: { valid: 'SELECT 1', invalid: 'SELECT no_such_column' },
  proxy: { target: PG_TARGET, factory: (address) => pgFactory(urlVia(address, SECRET_URL), { statementCacheSize: 10 }) },
  unreachableFactory: () => pgFactory(urlVia({ host: '127.0.0.1', port: 1 }, SECRET_URL)),
  secret: SECRET,
  capabilities: { dirtyTracking: true, statistics: true },
});
