import { addressOf, serverUrl, uniqueName } from '@pool/testkit';
import { Redis } from 'ioredis';

export { urlVia } from '@pool/testkit';

/** The test server, from REDIS_URL (default: the local Redis without a password). */
export const REDIS_URL = serverUrl('REDIS_URL', 'redis://127.0.0.1:6379');

/** REDIS_URL's host and port. */
export const REDIS_TARGET = addressOf(REDIS_URL, 6379);

/** The password of the ACL user {@link secretUrl} uses (a secret that must never be shown). */
export const SECRET = 'pool-r3dis-s3cret';

/** Runs one command on a short-lived admin connection. */
export async function admin(command: string, ...args: (string | number)[]): Promise<unknown> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  await client.connect();
  try {
    return await client.call(command, ...args);
  } finally {
    client.disconnect();
  }
}

let secretAccount: Promise<string> | undefined;

/**
 * A URL that authenticates as an ACL user with password {@link SECRET} (Redis 6+), created once with
 * every right: authentication on connect and after `RESET` is then really exercised.
 */
export function secretUrl(): Promise<string> {
  secretAccount ??= (async () => {
    await admin('ACL', 'SETUSER', 'pool_redis_secret', 'on', `>${SECRET}`, '~*', '&*', '+@all');
    const url = new URL(REDIS_URL);
    url.username = 'pool_redis_secret';
    url.password = SECRET;
    return url.toString();
  })();
  return secretAccount;
}

/** Kills a connection (`CLIENT KILL ID`) from another connection, as an operator or a failover would. */
export async function kill(clientId: number | null): Promise<void> {
  if (clientId === null) throw new Error('no client id: the connection never connected');
  const killed = await admin('CLIENT', 'KILL', 'ID', clientId);
  if (killed !== 1) throw new Error(`CLIENT KILL ID ${clientId} killed ${String(killed)} connections`);
}

/** One connection's fields in `CLIENT LIST` (e.g. `multi`, `db`, `sub`, `flags`), seen from another connection. */
export async function clientInfo(clientId: number | null): Promise<Record<string, string>> {
  const line = String(await admin('CLIENT', 'LIST', 'ID', String(clientId))).trim();
  return Object.fromEntries(line.split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

/** A key prefix unique to this test run, so parallel test runs never share keys. */
export function uniqueKey(prefix: string): string {
  return uniqueName(`pool:redis:test:${prefix}`, ':');
}
