// Port of sidorares/node-mysql2 test/global/integration/pool/test-pool-change-user-isolation.test.mts:
// a connection's changeUser() does not leak into the connections the pool opens later. The account is
// named per run (the server is shared), where mysql2's test uses 'pooluser1'.
import { strict } from 'node:assert';
import type { RowDataPacket } from 'mysql2';
import { describe, it } from 'vitest';
import type { MysqlPoolConnection as PoolConnection } from '../pool-connection.js';
import { uniqueName } from '../test-support/mysql.js';
import { createPool } from './common.js';

describe('Pool: changeUser() isolation', () => {
  it('keeps the pool user for connections created later', async () => {
    const pool = createPool({ connectionLimit: 1 });
    const pooluser1 = uniqueName('pooluser').slice(0, 32);

    const onlyUsername = (name: string) => name.substring(0, name.indexOf('@'));

    const getConnection = () =>
      new Promise<PoolConnection>((resolve, reject) => {
        pool.getConnection((err, connection) => (err ? reject(err) : resolve(connection)));
      });

    const currentUser = (connection: PoolConnection) =>
      new Promise<string>((resolve, reject) => {
        connection.query<RowDataPacket[]>('SELECT CURRENT_USER() AS `user`', (err, rows) =>
          err ? reject(err) : resolve(onlyUsername(String(rows[0]?.user))),
        );
      });

    const admin = pool.promise();

    await admin.query(`CREATE USER IF NOT EXISTS '${pooluser1}'@'%' IDENTIFIED BY 'pooluser1pass'`);
    await admin.query(`GRANT SELECT ON *.* TO '${pooluser1}'@'%'`);
    await admin.query('FLUSH PRIVILEGES');
    try {
      const first = await getConnection();
      const poolUser = await currentUser(first);

      await new Promise<void>((resolve, reject) => {
        first.changeUser({ user: pooluser1, password: 'pooluser1pass' }, (err) => (err ? reject(err) : resolve()));
      });

      strict.strictEqual(await currentUser(first), pooluser1);

      // Drop it, so that the pool has to open a brand new connection.
      first.destroy();

      const second = await getConnection();

      strict.strictEqual(await currentUser(second), poolUser);

      second.release();
    } finally {
      await admin.query(`DROP USER IF EXISTS '${pooluser1}'@'%'`);
      await admin.end();
    }
  });
});
