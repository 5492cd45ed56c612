import { addressOf, passwordOf, serverUrl } from '@pool/testkit';
import mysql from 'mysql2';

export { uniqueName, urlVia } from '@pool/testkit';

/** The test server, from MYSQL_URL (default: the local MariaDB, root without a password). */
export const MYSQL_URL = serverUrl('MYSQL_URL', 'mysql://root@127.0.0.1:3306/test');

/** The password of the account {@link secretUrl} uses (a secret that must never be shown). */
export const SECRET = passwordOf(MYSQL_URL) || 'pool-s3cret-pw';

let secretAccount: Promise<string> | undefined;

/**
 * A URL that authenticates with a password: MYSQL_URL itself when it has one; otherwise (root without
 * a password, as on the test server) an account `pool_mysql_secret` with password {@link SECRET},
 * created once with rights on MYSQL_URL's database.
 */
export function secretUrl(): Promise<string> {
  secretAccount ??= (async () => {
    const url = new URL(MYSQL_URL);
    if (url.password !== '') return url.toString();
    const database = decodeURIComponent(url.pathname.slice(1)) || 'test';
    await admin("CREATE USER IF NOT EXISTS 'pool_mysql_secret'@'%' IDENTIFIED BY ?", [SECRET]);
    await admin("CREATE USER IF NOT EXISTS 'pool_mysql_secret'@'localhost' IDENTIFIED BY ?", [SECRET]);
    await admin(
      `GRANT ALL PRIVILEGES ON \`${database.replaceAll('`', '``')}\`.* TO 'pool_mysql_secret'@'%', 'pool_mysql_secret'@'localhost'`,
    );
    url.username = 'pool_mysql_secret';
    url.password = SECRET;
    return url.toString();
  })();
  return secretAccount;
}

/** MYSQL_URL's host and port. */
export const MYSQL_TARGET = addressOf(MYSQL_URL, 3306);

/** Runs one statement on a short-lived admin connection. */
export async function admin<R = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<R[]> {
  const conn = mysql.createConnection({ uri: MYSQL_URL });
  conn.on('error', () => {});
  try {
    return await new Promise<R[]>((resolve, reject) => {
      conn.query(sql, values, (err, rows) => (err ? reject(err) : resolve(rows as R[])));
    });
  } finally {
    await new Promise<void>((resolve) => conn.end(() => resolve()));
  }
}

/** Kills a session (`KILL <thread id>`) from another connection, as an operator or a failover would. */
export async function kill(threadId: number | null): Promise<void> {
  if (threadId === null) throw new Error('no thread id: the connection never connected');
  await admin(`KILL ${Number(threadId)}`);
}

/** A server status counter of the whole server (`SHOW GLOBAL STATUS`), e.g. `Com_stmt_close`. */
export async function globalStatus(name: string): Promise<number> {
  const rows = await admin<{ Value: string }>('SHOW GLOBAL STATUS LIKE ?', [name]);
  return Number(rows[0]?.Value ?? Number.NaN);
}
