// The conformance suite, from the packed @pool/testkit, against its simulated factory: run under the
// oldest (the workspace's) and the newest supported vitest by check-release.ts.
import { SimulatedFactory } from '@pool/testkit';
import { testAdapter } from '@pool/testkit/conformance';

const respond = (sql) => {
  if (sql.includes('no_such_column')) throw new Error('column "no_such_column" does not exist');
  return [{ '?column?': 1 }];
};

testAdapter({
  name: 'SimulatedFactory from the packed testkit',
  factory: () => new SimulatedFactory({ respond }),
  ping: (conn) => conn.query('SELECT 1'),
  killConnection: async (conn) => {
    conn.kill();
  },
  setSessionState: async (conn) => {
    await conn.query("SET application_name = 'conformance'");
  },
  readSessionState: async (conn) => (await conn.query('SHOW application_name')).rows,
  beginTransaction: async (conn) => {
    await conn.query('BEGIN');
  },
  inTransaction: async (conn) => conn.inTransaction,
  validationQueries: { valid: 'SELECT 1', invalid: 'SELECT no_such_column' },
  unreachableFactory: () => new SimulatedFactory({ connectFailureRate: 1 }),
  capabilities: { dirtyTracking: true, statistics: true },
});
