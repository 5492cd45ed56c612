import { describe, expect, it } from 'vitest';
import { MAX_TIMER_MS, PoolConfig } from './config.js';
import { InvalidConfigError } from './errors.js';

function configError(fn: () => unknown): InvalidConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidConfigError);
    return err as InvalidConfigError;
  }
  throw new Error('expected an InvalidConfigError');
}

describe('PoolConfig', () => {
  it('has documented defaults', () => {
    const c = PoolConfig.default();
    expect(c.toJSON()).toEqual({
      minSize: 0,
      maxSize: 10,
      initialSize: 0,
      acquireTimeoutMs: 30_000,
      maxLifetimeMs: 1_800_000,
      idleTimeoutMs: 600_000,
      maxIdle: null,
      validateOnAcquire: false,
      validateOnRelease: false,
      validationTimeoutMs: 5_000,
      maxWaitQueueSize: 10_000,
      creationThrottle: null,
      maintenanceIntervalMs: 30_000,
      statementCacheSize: 0,
      leakDetectionThresholdMs: null,
      fairQueue: true,
      enablePartitioning: false,
      createTimeoutMs: 30_000,
      resetTimeoutMs: 5_000,
      closeTimeoutMs: 30_000,
      createRetryDelayMs: 100,
      createRetryMaxDelayMs: 5_000,
      createProbeIntervalMs: 150,
    });
  });

  it('builds the seed "Custom Configuration" with the builder', () => {
    const config = PoolConfig.builder()
      .minSize(10)
      .maxSize(100)
      .initialSize(20)
      .acquireTimeoutMs(30_000)
      .maxLifetimeMs(3_600_000)
      .statementCacheSize(100)
      .build();
    expect(config).toBeInstanceOf(PoolConfig);
    expect(config.minSize).toBe(10);
    expect(config.maxSize).toBe(100);
    expect(config.initialSize).toBe(20);
    expect(config.maxLifetimeMs).toBe(3_600_000);
    expect(config.statementCacheSize).toBe(100);
  });

  it('offers a builder method for every field', () => {
    const builder = PoolConfig.builder() as unknown as Record<string, unknown>;
    for (const key of Object.keys(PoolConfig.default().toJSON())) {
      expect(typeof builder[key], key).toBe('function');
    }
  });

  it('defaults initialSize to minSize', () => {
    expect(PoolConfig.from({ minSize: 4 }).initialSize).toBe(4);
  });

  it('is immutable', () => {
    const c = PoolConfig.from({ maxSize: 5 });
    expect(Object.isFrozen(c)).toBe(true);
    expect(() => {
      (c as { maxSize: number }).maxSize = 50;
    }).toThrow(TypeError);
    expect(c.maxSize).toBe(5);
  });

  it('with() returns a new validated config and leaves the original alone', () => {
    const a = PoolConfig.from({ maxSize: 5 });
    const b = a.with({ maxSize: 8 });
    expect(a.maxSize).toBe(5);
    expect(b.maxSize).toBe(8);
    expect(() => a.with({ minSize: 9 })).toThrow(InvalidConfigError);
  });

  it('accepts null for optional behaviours', () => {
    const c = PoolConfig.from({ maxLifetimeMs: null, idleTimeoutMs: null, creationThrottle: null, leakDetectionThresholdMs: null });
    expect(c.maxLifetimeMs).toBeNull();
    expect(c.idleTimeoutMs).toBeNull();
  });

  it.each([
    ['minSize greater than maxSize', { minSize: 11, maxSize: 10 }, 'minSize', 'must not exceed maxSize (10)'],
    ['initialSize above maxSize', { maxSize: 5, initialSize: 6 }, 'initialSize', 'must not exceed maxSize (5)'],
    ['negative minSize', { minSize: -1 }, 'minSize', 'must be an integer between 0'],
    ['fractional maxSize', { maxSize: 2.5 }, 'maxSize', 'must be an integer'],
    ['zero maxSize', { maxSize: 0 }, 'maxSize', 'between 1'],
    ['NaN timeout', { acquireTimeoutMs: Number.NaN }, 'acquireTimeoutMs', 'finite number'],
    ['infinite timeout', { acquireTimeoutMs: Number.POSITIVE_INFINITY }, 'acquireTimeoutMs', 'finite number'],
    ['negative lifetime', { maxLifetimeMs: -5 }, 'maxLifetimeMs', 'or null to switch it off'],
    ['timeout beyond what a timer can hold', { acquireTimeoutMs: MAX_TIMER_MS + 1 }, 'acquireTimeoutMs', String(MAX_TIMER_MS)],
    ['string number', { maxSize: '10' }, 'maxSize', 'must be an integer'],
    ['non-boolean flag', { fairQueue: 'yes' }, 'fairQueue', 'must be true or false'],
    ['zero throttle', { creationThrottle: 0 }, 'creationThrottle', 'greater than 0'],
    ['retry delay above its cap', { createRetryDelayMs: 10_000, createRetryMaxDelayMs: 1_000 }, 'createRetryDelayMs', 'must not exceed'],
    ['tiny maintenance interval', { maintenanceIntervalMs: 1 }, 'maintenanceIntervalMs', 'between 10'],
  ])('rejects %s, naming the field and the rule', (_name, options, field, rule) => {
    const err = configError(() => PoolConfig.from(options as never));
    expect(err.field).toBe(field);
    expect(err.rule).toContain(rule);
    expect(err.message).toContain(field);
    expect(err.code).toBe('ERR_POOL_INVALID_CONFIG');
  });

  it('rejects unknown keys and suggests the right spelling', () => {
    const err = configError(() => PoolConfig.from({ max_size: 3 } as never));
    expect(err.field).toBe('max_size');
    expect(err.message).toContain("did you mean 'maxSize'");
  });

  it('rejects a config that is not an object', () => {
    expect(configError(() => PoolConfig.from(null as never)).field).toBe('config');
    expect(configError(() => PoolConfig.from([] as never)).field).toBe('config');
  });

  it('validates builder values at build()', () => {
    const err = configError(() => PoolConfig.builder().minSize(20).maxSize(10).build());
    expect(err.field).toBe('minSize');
  });

  it('returns the same instance from from(config)', () => {
    const c = PoolConfig.default();
    expect(PoolConfig.from(c)).toBe(c);
  });
});
