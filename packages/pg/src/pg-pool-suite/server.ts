import { PG_URL } from '../test-support/pg.js';

const url = new URL(PG_URL);
/** The test server as separate settings (pg.Pool's tests override `host` / `port`, which a connection string would win over). */
export const SERVER = {
  host: url.hostname,
  port: Number(url.port || 5432),
  user: decodeURIComponent(url.username) || 'postgres',
  database: url.pathname.slice(1) || 'test',
  ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
};
