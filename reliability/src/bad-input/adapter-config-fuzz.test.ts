import { InvalidArgumentError, InvalidConfigError, MAX_TIMER_MS } from '@pool/core';
import { createMysqlPool } from '@pool/mysql';
import { createPgPool } from '@pool/pg';
import { createRedisPool } from '@pool/redis';
import { freePort } from '@pool/test-servers';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { report } from '../support/report.js';

/**
 * Config fuzzing of the adapters' pool constructors (`createPgPool`, `createMysqlPool`,
 * `createRedisPool`): arbitrary values for every option they document, including the pg.Pool /
 * mysql2 pool compatibility options and `poolConfig`. Each either builds a pool (closed at once) or
 * throws `InvalidConfigError` / `InvalidArgumentError` naming the option; never a TypeError. The pools
 * point at a closed port, so nothing ever reaches a real server.
 */

const seed = process.env.FC_SEED === undefined ? 4_242 : Number(process.env.FC_SEED);
const numRuns = Number(process.env.FC_RUNS ?? 150);
let deadPort = 1;

beforeAll(async () => {
  deadPort = await freePort();
});

const edgy: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(0, 1, 2, 10, 100, 1_000, 30_000) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      -1,
      0.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      MAX_TIMER_MS + 1,
      Number.MAX_SAFE_INTEGER + 2,
      null,
      undefined,
      true,
      false,
      '',
      '5',
      'session',
      'all',
      'auto',
      'reset',
      'changeUser',
      'commands',
      'SELECT 1',
      [],
      {},
      () => {},
    ),
  },
  { weight: 1, arbitrary: fc.anything() },
);

const poolConfig = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  {
    weight: 2,
    arbitrary: fc.dictionary(fc.constantFrom('minSize', 'maxSize', 'acquireTimeoutMs', 'idleTimeoutMs', 'bogus'), edgy, { maxKeys: 3 }),
  },
  { weight: 1, arbitrary: edgy },
);

const verdicts: Record<string, { built: number; refused: number }> = {};

async function judge(what: string, make: () => { close(): Promise<void> }): Promise<void> {
  let pool: { close(): Promise<void> } | undefined;
  const v = (verdicts[what] ??= { built: 0, refused: 0 });
  try {
    pool = make();
    v.built++;
  } catch (error) {
    v.refused++;
    if (!(error instanceof InvalidConfigError) && !(error instanceof InvalidArgumentError)) {
      throw new Error(`${what} threw ${String(error)} (${(error as Error)?.name})`);
    }
    expect((error as Error).message.length).toBeGreaterThan(0);
    return;
  }
  await pool.close();
}

afterAll(() => {
  report('adapter config fuzzing (built / refused)', verdicts);
  // Both verdicts must occur, or the fuzzer is not exploring: all refused would mean it never builds a pool.
  for (const [what, v] of Object.entries(verdicts)) {
    expect(v.built, `${what} never built a pool`).toBeGreaterThan(0);
    expect(v.refused, `${what} never refused`).toBeGreaterThan(0);
  }
});

describe('adapter config fuzzing', () => {
  it('createPgPool: a pool or InvalidConfigError naming the option, for any pg.Pool / factory / pool option', async () => {
    const options = fc.dictionary(
      fc.constantFrom(
        'max',
        'min',
        'idleTimeoutMillis',
        'connectionTimeoutMillis',
        'maxLifetimeSeconds',
        'maxUses',
        'statementCacheSize',
        'resetMode',
        'validationQuery',
        'onConnect',
        'allowExitOnIdle',
        'Client',
        'verify',
        'log',
        'poolOptions',
      ),
      edgy,
      { maxKeys: 4 },
    );
    await fc.assert(
      fc.asyncProperty(options, poolConfig, async (o, pc) => {
        await judge('createPgPool', () =>
          createPgPool({ ...(o as object), host: '127.0.0.1', port: deadPort, ...(pc === undefined ? {} : { poolConfig: pc as never }) }),
        );
      }),
      { seed, numRuns },
    );
  });

  it('createMysqlPool: a pool or InvalidConfigError naming the option, for any mysql2 pool / factory / pool option', async () => {
    const options = fc.dictionary(
      fc.constantFrom(
        'connectionLimit',
        'maxIdle',
        'idleTimeout',
        'queueLimit',
        'waitForConnections',
        'resetOnRelease',
        'statementCacheSize',
        'maxPreparedStatements',
        'resetMode',
        'validationQuery',
        'trackSessionState',
        'onConnect',
        'poolOptions',
      ),
      edgy,
      { maxKeys: 4 },
    );
    await fc.assert(
      fc.asyncProperty(options, poolConfig, async (o, pc) => {
        await judge('createMysqlPool', () =>
          createMysqlPool({
            ...(o as object),
            host: '127.0.0.1',
            port: deadPort,
            ...(pc === undefined ? {} : { poolConfig: pc as never }),
          }),
        );
      }),
      { seed, numRuns },
    );
  });

  it('createRedisPool: a pool or InvalidConfigError naming the option, for any factory / pool option', async () => {
    const options = fc.dictionary(
      fc.constantFrom('resetMode', 'validationCommand', 'onConnect', 'Redis', 'poolOptions', 'lazyConnect', 'bogus'),
      edgy,
      { maxKeys: 3 },
    );
    const ioredisOptions = fc.dictionary(
      fc.constantFrom('enableOfflineQueue', 'retryStrategy', 'lazyConnect', 'db', 'connectTimeout', 'commandTimeout', 'connectionName'),
      edgy,
      { maxKeys: 2 },
    );
    await fc.assert(
      fc.asyncProperty(ioredisOptions, options, poolConfig, async (io, o, pc) => {
        await judge('createRedisPool', () =>
          createRedisPool(
            { ...(io as object), host: '127.0.0.1', port: deadPort },
            { ...(o as object), ...(pc === undefined ? {} : { poolConfig: pc as never }) },
          ),
        );
      }),
      { seed, numRuns },
    );
  });
});
