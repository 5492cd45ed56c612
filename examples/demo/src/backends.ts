/**
 * Where the demo's connections come from: the testkit's simulated database by default, or a real
 * server when `DATABASE_URL` names one. Each backend gives a factory and one small query a request
 * handler runs; everything else in the demo is the same for all of them.
 */
import type { ConnectionFactory } from '@pool/core';
import { mysqlFactory } from '@pool/mysql';
import { pgFactory } from '@pool/pg';
import { redisFactory } from '@pool/redis';
import { SimulatedFactory } from '@pool/testkit';

/** A place connections come from. */
export interface Backend {
  /** What the banner says (`simulated database`, `PostgreSQL at postgres://app:***@db:5432/app`). */
  readonly description: string;
  readonly factory: ConnectionFactory<unknown>;
  /** Runs the request's query on a borrowed connection. */
  query(connection: unknown, tenant: string): Promise<unknown>;
  /** How big the pool and its partitions are (the seed's figures for the simulation; smaller for a real server). */
  readonly sizing: Sizing;
  /** Connections still open on the "server" side (known for the simulation only). */
  openOnServer(): number | null;
}

/** Pool and partition sizes. */
export interface Sizing {
  minSize: number;
  maxSize: number;
  initialSize: number;
  enterprise: { maxConnections: number; minConnections: number };
  standard: { maxConnections: number; minConnections: number };
}

/** The seed's complete example: min 20, max 200, initial 50; Enterprise 10..100, Standard 5..50. */
const SEED_SIZING: Sizing = {
  minSize: 20,
  maxSize: 200,
  initialSize: 50,
  enterprise: { maxConnections: 100, minConnections: 10 },
  standard: { maxConnections: 50, minConnections: 5 },
};

/**
 * A real server's default: the seed's shape at a tenth of its size, well within PostgreSQL's default
 * `max_connections` (100), MariaDB's (151) and anything Redis allows.
 */
const SERVER_SIZING: Sizing = {
  minSize: 2,
  maxSize: 20,
  initialSize: 5,
  enterprise: { maxConnections: 10, minConnections: 2 },
  standard: { maxConnections: 5, minConnections: 1 },
};

/**
 * What the demo's sessions are called on a real server: PostgreSQL's `application_name` (in
 * `pg_stat_activity`; an `application_name` in DATABASE_URL wins) and Redis's `CLIENT SETNAME` (in
 * `CLIENT LIST`). MySQL/MariaDB sessions have no name.
 */
export const SESSION_NAME = 'pool-demo';

/** Picks the backend for `databaseUrl` (`undefined`: the simulation). */
export function selectBackend(databaseUrl: string | undefined): Backend {
  if (databaseUrl === undefined || databaseUrl === '') return simulated();
  let scheme: string;
  try {
    scheme = new URL(databaseUrl).protocol;
  } catch {
    throw new Error(`DATABASE_URL is not a URL (${redactUrl(databaseUrl)}); use postgres://, mysql:// or redis://`);
  }
  const where = redactUrl(databaseUrl);
  switch (scheme) {
    case 'postgres:':
    case 'postgresql:': {
      const factory = pgFactory({ connectionString: databaseUrl, application_name: SESSION_NAME });
      return server(`PostgreSQL at ${where}`, factory, (conn, tenant) =>
        (conn as { query(sql: string, values: unknown[]): Promise<unknown> }).query('SELECT $1::text AS tenant, now() AS at', [tenant]),
      );
    }
    case 'mysql:':
    case 'mariadb:': {
      const factory = mysqlFactory(databaseUrl.replace(/^mariadb:/, 'mysql:'));
      return server(`MySQL/MariaDB at ${where}`, factory, (conn, tenant) =>
        (conn as { query(sql: string, values: unknown[]): Promise<unknown> }).query('SELECT ? AS tenant, NOW() AS at', [tenant]),
      );
    }
    case 'redis:':
    case 'rediss:': {
      const factory = redisFactory(databaseUrl, {
        onConnect: async (conn) => {
          await conn.client.client('SETNAME', SESSION_NAME);
        },
      });
      return server(`Redis at ${where}`, factory, (conn) => (conn as { client: { ping(): Promise<string> } }).client.ping());
    }
    default:
      throw new Error(`DATABASE_URL has the scheme '${scheme}'; the demo knows postgres://, mysql:// (or mariadb://) and redis://`);
  }
}

function simulated(): Backend {
  const factory = new SimulatedFactory({
    seed: 42,
    connectLatencyMs: { minMs: 20, maxMs: 120 }, // a TCP + TLS + auth handshake
    queryLatencyMs: { minMs: 1, maxMs: 6 },
    queryFailureRate: 0.002, // a query now and then fails, as in life
    respond: (sql, params) => [{ tenant: params[0], sql }],
  });
  return {
    description: 'a simulated database (@pool/testkit SimulatedFactory; set DATABASE_URL for a real server)',
    factory: factory as ConnectionFactory<unknown>,
    query: (conn, tenant) =>
      (conn as { query(sql: string, params: unknown[]): Promise<unknown> }).query('SELECT * FROM data WHERE tenant = $1', [tenant]),
    sizing: SEED_SIZING,
    openOnServer: () => factory.connections().length,
  };
}

function server<C>(description: string, factory: ConnectionFactory<C>, query: (conn: C, tenant: string) => Promise<unknown>): Backend {
  return {
    description,
    factory: factory as ConnectionFactory<unknown>,
    query: query as (conn: unknown, tenant: string) => Promise<unknown>,
    sizing: SERVER_SIZING,
    openOnServer: () => null,
  };
}

/** The URL without its password. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@');
}
