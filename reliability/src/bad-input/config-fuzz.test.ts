import {
  AgingPolicy,
  ConnectionPool,
  ConnectionValidator,
  InvalidArgumentError,
  InvalidConfigError,
  MAX_TIMER_MS,
  PoolConfig,
  type PoolConfigOptions,
  PoolError,
} from '@pool/core';
import { PartitionManager, PartitionType, RoutingStrategy } from '@pool/partitioning';
import { DeadlockDetector, PriorityWaitQueue, StarvationPrevention } from '@pool/queue';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ControlledFactory } from '../support/controlled-factory.js';

/**
 * Config fuzzing: arbitrary values for every option of PoolConfig (object and builder), PoolOptions,
 * acquire options, PartitionLimits and the queue's options. Each either gives a working object or is
 * refused with `InvalidConfigError` / `InvalidArgumentError` naming the field; never a TypeError,
 * never a hang, never a half-built pool (no connection opened, no timer left behind).
 */

const seed = process.env.FC_SEED === undefined ? 31_337 : Number(process.env.FC_SEED);
const numRuns = Number(process.env.FC_RUNS ?? 300);

const CONFIG_KEYS: (keyof PoolConfigOptions)[] = [
  'minSize',
  'maxSize',
  'initialSize',
  'acquireTimeoutMs',
  'maxLifetimeMs',
  'idleTimeoutMs',
  'validateOnAcquire',
  'validateOnRelease',
  'validationTimeoutMs',
  'maxWaitQueueSize',
  'creationThrottle',
  'maintenanceIntervalMs',
  'statementCacheSize',
  'leakDetectionThresholdMs',
  'fairQueue',
  'enablePartitioning',
  'createTimeoutMs',
  'resetTimeoutMs',
  'closeTimeoutMs',
  'createRetryDelayMs',
  'createRetryMaxDelayMs',
];

/** Values that sit on or just past the edges of the rules, plus anything at all. */
const edgy: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(0, 1, 2, 3, 10, 100, 1_000, 30_000) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      -1,
      -0,
      0.5,
      1.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      MAX_TIMER_MS,
      MAX_TIMER_MS + 1,
      Number.MAX_SAFE_INTEGER,
      Number.MAX_SAFE_INTEGER + 2,
      1e308,
      null,
      undefined,
      true,
      false,
      '',
      '10',
      [],
      {},
      10n,
    ),
  },
  { weight: 1, arbitrary: fc.anything() },
);

const configObject = fc.dictionary(
  fc.oneof(
    { weight: 9, arbitrary: fc.constantFrom(...CONFIG_KEYS) },
    { weight: 1, arbitrary: fc.constantFrom('max_size', 'MaxSize', 'timeout', '__proto__', 'constructor') },
  ),
  edgy,
  { maxKeys: 6 },
);

/** Runs `fn`; returns what it returned or the error it threw, and fails on any error that is not ours. */
function outcome<T>(
  what: string,
  fn: () => T,
  allowed: (new (...args: never[]) => Error)[] = [InvalidConfigError, InvalidArgumentError],
): T | PoolError {
  try {
    return fn();
  } catch (error) {
    if (!allowed.some((type) => error instanceof type)) throw new Error(`${what} threw ${String(error)} (${(error as Error)?.name})`);
    return error as PoolError;
  }
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('config fuzzing', () => {
  it('PoolConfig.from: a frozen, valid config or InvalidConfigError naming a field, for any input', () => {
    fc.assert(
      fc.property(fc.oneof({ weight: 9, arbitrary: configObject }, { weight: 1, arbitrary: fc.anything() }), (input) => {
        const result = outcome('PoolConfig.from', () => PoolConfig.from(input as PoolConfigOptions));
        if (result instanceof PoolError) {
          expect(result).toBeInstanceOf(InvalidConfigError);
          expect(typeof (result as InvalidConfigError).field).toBe('string');
          expect(result.message).toContain((result as InvalidConfigError).field);
          return;
        }
        expect(Object.isFrozen(result)).toBe(true);
        expect(result.minSize).toBeLessThanOrEqual(result.maxSize);
        expect(result.initialSize).toBeLessThanOrEqual(result.maxSize);
        expect(result.createRetryDelayMs).toBeLessThanOrEqual(result.createRetryMaxDelayMs);
        // Round trip: what a valid config serialises to is itself valid and equal.
        expect(PoolConfig.from(result.toJSON()).toJSON()).toEqual(result.toJSON());
      }),
      { seed, numRuns },
    );
  });

  it('the builder validates only at build(), with the same verdict as PoolConfig.from', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...CONFIG_KEYS), edgy), { maxLength: 6 }), (calls) => {
        const builder = PoolConfig.builder() as unknown as Record<string, (v: unknown) => unknown> & { build(): PoolConfig };
        const options: Record<string, unknown> = {};
        for (const [key, value] of calls) {
          expect(builder[key]?.(value)).toBe(builder);
          options[key] = value;
        }
        const built = outcome('builder.build', () => builder.build());
        const from = outcome('PoolConfig.from', () => PoolConfig.from(options as PoolConfigOptions));
        if (built instanceof PoolError || from instanceof PoolError) {
          expect(built).toBeInstanceOf(InvalidConfigError);
          expect(from).toBeInstanceOf(InvalidConfigError);
          expect((built as InvalidConfigError).field).toBe((from as InvalidConfigError).field);
        } else {
          expect(built.toJSON()).toEqual(from.toJSON());
        }
      }),
      { seed, numRuns },
    );
  });

  it('ConnectionPool.open / create: a working pool, or a refusal that opened nothing and left no timer', async () => {
    const poolOptions = fc.dictionary(
      fc.constantFrom(
        'name',
        'waitQueue',
        'agingPolicy',
        'recyclingStrategy',
        'validator',
        'ownerScope',
        'captureStacks',
        'maxSize',
        'onError',
      ),
      fc.oneof(
        edgy,
        fc.constantFrom(
          'fast',
          'checked',
          'replace',
          'adaptive',
          'Fast',
          'pool-a',
          '  ',
          { kind: 'timeBased', maxLifetimeMs: 1000 },
          { kind: 'usageBased', maxBorrows: 0 },
          { kind: 'adaptive', baseLifetimeMs: 1000, errorThreshold: 2 },
          { kind: 'nope' },
          { current: () => 1 },
          { enqueue: () => {} },
        ),
        fc.constant(null).map(() => new PriorityWaitQueue()),
        fc.constant(null).map(() => new ConnectionValidator({ timeoutMs: 100 })),
        fc.constant(null).map(() => new DeadlockDetector().ownerScope),
        fc.constant(null).map(() => AgingPolicy.UsageBased({ maxBorrows: 3 })),
      ),
      { maxKeys: 4 },
    );
    const factoryShape = fc.constantFrom('full', 'minimal', 'noClose', 'badValidate', 'null', 'string');
    await fc.assert(
      fc.asyncProperty(configObject, poolOptions, factoryShape, fc.boolean(), async (config, options, shape, eager) => {
        const controlled = new ControlledFactory();
        const factory: unknown =
          shape === 'full'
            ? controlled
            : shape === 'minimal'
              ? { create: controlled.create.bind(controlled), close: controlled.close.bind(controlled) }
              : shape === 'noClose'
                ? { create: controlled.create.bind(controlled) }
                : shape === 'badValidate'
                  ? { create: controlled.create.bind(controlled), close: controlled.close.bind(controlled), validate: 42 }
                  : shape === 'null'
                    ? null
                    : 'postgres://nope';
        const timersBefore = vi.getTimerCount();
        let pool: ConnectionPool<unknown> | PoolError;
        if (eager) {
          const creating = ConnectionPool.create(config as PoolConfigOptions, factory as never, options as never).catch((e: unknown) => e);
          await vi.advanceTimersByTimeAsync(10);
          const settled = await Promise.race([creating, Promise.resolve('pending' as const)]);
          expect(settled, 'ConnectionPool.create settles promptly with a working factory').not.toBe('pending');
          pool = settled as ConnectionPool<unknown> | PoolError;
          if (!(pool instanceof ConnectionPool) && !(pool instanceof InvalidConfigError) && !(pool instanceof InvalidArgumentError)) {
            throw new Error(`ConnectionPool.create rejected with ${String(pool)}`);
          }
        } else {
          pool = outcome('ConnectionPool.open', () => ConnectionPool.open(config as PoolConfigOptions, factory as never, options as never));
        }
        if (!(pool instanceof ConnectionPool)) {
          // Refused: nothing was opened and nothing keeps running.
          // Nothing keeps running behind a refusal: no connect now, none later.
          await vi.advanceTimersByTimeAsync(60_000);
          expect(controlled.calls.create, 'a refused pool opened a connection').toBe(0);
          expect(vi.getTimerCount(), 'a refused pool left a timer').toBe(timersBefore);
          expect((pool as Error).message.length).toBeGreaterThan(0);
          return;
        }
        pool.on('error', () => {});
        // A pool that was built works: a borrow and a return, then a clean close.
        const acquired = pool.acquire({ timeoutMs: 1_000 });
        await vi.advanceTimersByTimeAsync(50);
        const conn = await acquired;
        conn.release();
        const closing = pool.close();
        await vi.advanceTimersByTimeAsync(pool.config.closeTimeoutMs * 2 + 10);
        await closing;
        expect(pool.state).toBe('closed');
        expect(controlled.open.size).toBe(0);
      }),
      { seed, numRuns: Math.ceil(numRuns / 2) },
    );
  });

  it('acquire options: served, or rejected with InvalidArgumentError (never thrown synchronously); the pool stays consistent', async () => {
    const factory = new ControlledFactory();
    const pool = ConnectionPool.open({ maxSize: 2, acquireTimeoutMs: 100 }, factory);
    const signalish = fc.oneof(
      fc.constant(null).map(() => new AbortController().signal),
      fc.constant(null).map(() => AbortSignal.abort(new Error('already'))),
      // Looks like a signal but cannot be listened to: refused.
      fc.record({ aborted: fc.anything() }),
      fc.record({ aborted: fc.constant(false), addEventListener: fc.constant(42) }),
      // Can be listened to but not unsubscribed from: refused too (it used to break a later release).
      fc.record({ aborted: fc.constant(false), addEventListener: fc.constant(() => {}) }),
      edgy,
    );
    const options = fc.oneof(
      { weight: 1, arbitrary: fc.anything() },
      {
        weight: 4,
        arbitrary: fc.record(
          {
            timeoutMs: edgy,
            signal: signalish,
            priority: fc.oneof(fc.constantFrom('critical', 'high', 'normal', 'low', 'urgent', 'Critical'), edgy),
            label: edgy,
            context: fc.anything(),
            extra: edgy,
          },
          { requiredKeys: [] },
        ),
      },
      {
        // Otherwise valid options, so that the signal is what is exercised.
        weight: 3,
        arbitrary: fc.record({
          timeoutMs: fc.integer({ min: 1, max: 120 }),
          signal: signalish,
          priority: fc.constantFrom('critical', 'high', 'normal', 'low'),
        }),
      },
    );
    await fc.assert(
      fc.asyncProperty(options, fc.constantFrom(0, 1, 2), async (o, busy) => {
        // With the pool busy, the acquire waits: its signal, deadline and priority are then exercised
        // when a connection comes back, or when it times out.
        const holding = await Promise.all(Array.from({ length: busy }, () => pool.acquire()));
        let promise: Promise<unknown>;
        try {
          promise = pool.acquire(o as never);
        } catch (error) {
          throw new Error(`acquire threw synchronously: ${String(error)}`);
        }
        const settled = promise.then(
          (c) => c,
          (e: unknown) => e,
        );
        await vi.advanceTimersByTimeAsync(busy === 2 ? 20 : 0);
        for (const h of holding) h.release();
        await vi.advanceTimersByTimeAsync(150);
        const result = await settled;
        if (result instanceof Error) {
          expect(result, String(result)).toBeInstanceOf(PoolError);
          expect(result).not.toBeInstanceOf(TypeError);
        } else {
          (result as { release(): void }).release();
        }
        const s = pool.statistics();
        expect(s.acquired - s.released).toBe(0);
        expect(pool.size().waiting).toBe(0);
      }),
      { seed, numRuns },
    );
    const closing = pool.close();
    await vi.advanceTimersByTimeAsync(100);
    await closing;
  });

  it('resize: a new config, or InvalidArgumentError / InvalidConfigError with the config unchanged', () => {
    const pool = ConnectionPool.open({ minSize: 0, maxSize: 4 }, new ControlledFactory());
    fc.assert(
      fc.property(
        fc.oneof(fc.anything(), fc.dictionary(fc.constantFrom('minSize', 'maxSize', 'initialSize'), edgy, { maxKeys: 3 })),
        (sizes) => {
          const before = pool.config;
          const result = outcome('resize', () => pool.resize(sizes as never));
          if (result instanceof PoolError) expect(pool.config).toBe(before);
          else expect(result).toBe(pool.config);
          expect(pool.config.minSize).toBeLessThanOrEqual(pool.config.maxSize);
        },
      ),
      { seed, numRuns },
    );
    void pool.close();
  });

  it('PartitionLimits and partition options: a partition, or InvalidConfigError / InvalidArgumentError and no partition', async () => {
    const pool = ConnectionPool.open({ maxSize: 10, enablePartitioning: true }, new ControlledFactory());
    const manager = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased });
    let n = 0;
    const limits = fc.oneof(
      { weight: 1, arbitrary: fc.anything() },
      {
        weight: 5,
        arbitrary: fc.dictionary(
          fc.constantFrom(
            'maxConnections',
            'minConnections',
            'maxWaitQueue',
            'cpuLimitMs',
            'memoryLimitBytes',
            'ioLimit',
            'max_connections',
          ),
          edgy,
          { maxKeys: 4 },
        ),
      },
    );
    const partitionOptions = fc.oneof(
      fc.constant(undefined),
      fc.dictionary(fc.constantFrom('routeKeys', 'prepare', 'label', 'connectionMemoryBytes', 'waitQueue', 'isolated', 'bogus'), edgy, {
        maxKeys: 2,
      }),
    );
    const idArb = fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: edgy });
    fc.assert(
      fc.property(idArb, limits, partitionOptions, (rawId, l, o) => {
        const id = rawId === null ? `p${++n}` : rawId;
        const before = manager.listPartitions().length;
        const result = outcome('createPartition', () =>
          manager.createPartition(id as string, PartitionType.Tenant(`t${n}`), l as never, o as never),
        );
        if (result instanceof PoolError) {
          expect(manager.listPartitions().length, 'a refused partition was half-created').toBe(before);
          return;
        }
        expect(manager.listPartitions().length).toBe(before + 1);
        const fixed = result.limits;
        expect(fixed.minConnections).toBeLessThanOrEqual(fixed.maxConnections);
        // Keep the reserved minimums within the pool so later cases are judged on their own.
        void manager.removePartition(result.id);
      }),
      { seed, numRuns },
    );
    await manager.close();
    await pool.close();
  });

  it('queue options: PriorityWaitQueue, StarvationPrevention, DeadlockDetector and enqueueWithPriority refuse bad input by name', async () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.dictionary(
            fc.constantFrom('timeoutMs', 'starvationPrevention', 'thresholdMs', 'enabled', 'failWaiters', 'onDeadlock', 'x'),
            edgy,
            { maxKeys: 3 },
          ),
        ),
        (o) => {
          const makers: (() => unknown)[] = [
            () => new PriorityWaitQueue(o as never),
            () => new StarvationPrevention(o as never),
            () => new DeadlockDetector(o as never),
          ];
          for (const make of makers) {
            const result = outcome('queue constructor', make);
            if (result instanceof PoolError) expect(result.message.length).toBeGreaterThan(0);
          }
        },
      ),
      { seed, numRuns },
    );
    const queue = new PriorityWaitQueue({ timeoutMs: 50 });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constantFrom('critical', 'high', 'normal', 'low'), edgy),
        fc.oneof(
          fc.constant(undefined),
          fc.anything(),
          fc.dictionary(fc.constantFrom('timeoutMs', 'signal', 'context', 'priority'), edgy, { maxKeys: 2 }),
        ),
        async (priority, o) => {
          let promise: Promise<unknown>;
          try {
            promise = queue.enqueueWithPriority(priority as never, o as never);
          } catch (error) {
            throw new Error(`enqueueWithPriority threw synchronously: ${String(error)}`);
          }
          const settled = promise.then(
            (t) => t,
            (e: unknown) => e,
          );
          queue.serveNext();
          await vi.advanceTimersByTimeAsync(60);
          const result = await settled;
          if (result instanceof Error) expect(result, String(result)).toBeInstanceOf(PoolError);
          expect(queue.size).toBe(0);
        },
      ),
      { seed, numRuns },
    );
    queue.close();
  });
});
