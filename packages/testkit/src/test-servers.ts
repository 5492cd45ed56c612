import type { FaultProxyAddress } from './fault-proxy.js';

/**
 * The URL of a test server: the environment variable `variable` when it is set, else `fallback` (a
 * local default, so tests run anywhere a server listens on 127.0.0.1).
 *
 * @example
 * ```ts
 * export const PG_URL = serverUrl('PG_URL', 'postgres://postgres@127.0.0.1:5432/test');
 * ```
 */
export function serverUrl(variable: string, fallback: string): string {
  return process.env[variable] ?? fallback;
}

/** The `{ host, port }` of `url` (`defaultPort` when it names none): what a {@link FaultProxy} forwards to. */
export function addressOf(url: string, defaultPort: number): FaultProxyAddress {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port || defaultPort) };
}

/**
 * `url` pointed at another `host:port` — a {@link FaultProxy}, or a port where nothing listens — keeping
 * its credentials, database and parameters.
 *
 * @example
 * ```ts
 * const proxy = await FaultProxy.start({ target: addressOf(PG_URL, 5432) });
 * const factory = pgFactory(urlVia(proxy, PG_URL));
 * ```
 */
export function urlVia(address: FaultProxyAddress, url: string): string {
  const parsed = new URL(url);
  parsed.hostname = address.host;
  parsed.port = String(address.port);
  return parsed.toString();
}

/** The password of `url`, percent-decoded; `''` when it has none. */
export function passwordOf(url: string): string {
  return decodeURIComponent(new URL(url).password);
}

/**
 * `url` with `password` when it has no password of its own (an existing one is kept), for secret-leak
 * tests: a server with trust authentication ignores the password, and the factory must still never show it.
 */
export function withPassword(url: string, password: string): string {
  const parsed = new URL(url);
  if (parsed.password === '') parsed.password = password;
  return parsed.toString();
}

/**
 * `prefix` followed by a suffix unique to this test run (process id, time, randomness), joined with
 * `separator`: names for tables, keys and channels on servers other test runs share.
 *
 * @example
 * ```ts
 * const table = uniqueName('pool_pg_users'); // pool_pg_users_4242_lx2k1c_9a7f
 * const key = uniqueName('pool:redis:test:jobs', ':');
 * ```
 */
export function uniqueName(prefix: string, separator = '_'): string {
  return [prefix, process.pid, Date.now().toString(36), Math.floor(Math.random() * 1e6).toString(36)].join(separator);
}
