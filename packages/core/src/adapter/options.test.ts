import { AgingPolicy, InvalidConfigError, MAX_TIMER_MS, PoolConfig, RecyclingStrategy } from '@pool/core';
import { describe, expect, it } from 'vitest';
import {
  checkBoolean,
  checkInteger,
  checkMilliseconds,
  checkOneOf,
  checkOptionalFunction,
  checkOptionKeys,
  optionConflict,
  PoolConfigMapping,
} from './options.js';

describe('option checks', () => {
  it('return valid values and name the field and the rule for invalid ones', () => {
    expect(checkInteger('max', 3, 1)).toBe(3);
    expect(() => checkInteger('max', 0, 1)).toThrow(/max = 0: must be an integer >= 1/);
    expect(() => checkInteger('port', 70_000, 1, 65_535)).toThrow(/port = 70000: must be an integer between 1 and 65535/);
    expect(() => checkInteger('port', '1', 1, 65_535)).toThrow(InvalidConfigError);
    expect(checkMilliseconds('idleTimeoutMillis', 0)).toBe(0);
    expect(() => checkMilliseconds('idleTimeout', 0, 1)).toThrow(
      `idleTimeout = 0: must be a number of milliseconds between 1 and ${MAX_TIMER_MS}`,
    );
    expect(() => checkMilliseconds('idleTimeout', Number.POSITIVE_INFINITY)).toThrow(/idleTimeout/);
    expect(checkBoolean('allowExitOnIdle', false)).toBe(false);
    expect(() => checkBoolean('allowExitOnIdle', 'yes')).toThrow(/allowExitOnIdle = "yes": must be true or false/);
    expect(checkOneOf('resetMode', 'all', ['session', 'all'])).toBe('all');
    expect(() => checkOneOf('resetMode', 'discard', ['auto', 'reset', 'changeUser'])).toThrow(
      /resetMode = "discard": must be 'auto', 'reset' or 'changeUser'/,
    );
  });

  it('treat a missing callback as null and refuse a callback that is not a function', () => {
    const onConnect = (): void => {};
    expect(checkOptionalFunction('onConnect', onConnect)).toBe(onConnect);
    expect(checkOptionalFunction('onConnect', undefined)).toBeNull();
    expect(checkOptionalFunction('onConnect', null)).toBeNull();
    expect(() => checkOptionalFunction('onConnect', 'SET x' as never)).toThrow(/onConnect = "SET x": must be a function/);
  });

  it('refuse unknown option keys, naming the key, the owner and the known keys', () => {
    expect(() => checkOptionKeys({ resetMode: 'all' }, ['resetMode', 'onConnect'], 'fooFactory')).not.toThrow();
    expect(() => checkOptionKeys({ resetMod: 'all' }, ['resetMode', 'onConnect'], 'fooFactory')).toThrow(
      /resetMod = "all": is not a fooFactory option; known: resetMode, onConnect$/,
    );
    expect(() => checkOptionKeys({ maxSize: 3 }, ['poolConfig'], 'createFooPool', '(driver options go in the first argument)')).toThrow(
      /known: poolConfig \(driver options go in the first argument\)/,
    );
    expect(() => checkOptionKeys(null, [], 'fooFactory')).toThrow(/options = null: must be an object/);
  });

  it('describe a conflict naming both settings', () => {
    const error = optionConflict('maxPreparedStatements', 3, 'statementCacheSize (4)');
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error.message).toMatch(/maxPreparedStatements = 3: conflicts with statementCacheSize \(4\); give one of them/);
    expect(optionConflict('maxUses', 3, 'poolOptions.agingPolicy', 'use AgingPolicy.Combined instead').rule).toBe(
      'conflicts with poolOptions.agingPolicy; use AgingPolicy.Combined instead',
    );
  });
});

describe('PoolConfigMapping', () => {
  it('splits driver options from poolConfig and poolOptions, and builds the config', () => {
    const mapping = new PoolConfigMapping({ host: 'db', max: 5, poolConfig: { minSize: 1 }, poolOptions: { name: 'api' } });
    expect(mapping.rest).toEqual({ host: 'db', max: 5 });
    mapping.set('max', 'maxSize', 5);
    expect(mapping.take(['max', 'absent'])).toEqual({ max: 5 });
    expect(mapping.rest).toEqual({ host: 'db' });
    const config = mapping.build();
    expect(config).toBeInstanceOf(PoolConfig);
    expect(config).toMatchObject({ maxSize: 5, minSize: 1 });
    expect(mapping.poolOptions).toEqual({ name: 'api' });
  });

  it('refuses a driver option that contradicts poolConfig, naming both; agreeing is fine', () => {
    const mapping = new PoolConfigMapping({ max: 5, poolConfig: { maxSize: 6, minSize: 0 } });
    expect(() => mapping.set('max', 'maxSize', 5)).toThrow(/max = 5: conflicts with poolConfig.maxSize \(6\); give one of them/);
    expect(() => mapping.set('min', 'minSize', 0)).not.toThrow();
    expect(mapping.given('maxSize')).toBe(true);
    expect(mapping.given('idleTimeoutMs')).toBe(false);
  });

  it('treats a built PoolConfig as defaults that driver options may change', () => {
    const built = PoolConfig.builder().maxSize(5).build();
    const mapping = new PoolConfigMapping({ max: 8, poolConfig: built });
    mapping.set('max', 'maxSize', 8);
    expect(mapping.get('maxSize')).toBe(8);
    expect(mapping.build().maxSize).toBe(8);
  });

  it('derives the maintenance interval and implied values unless poolConfig gives them', () => {
    const derived = new PoolConfigMapping({});
    derived.maintainFor(10_000);
    derived.setUnlessGiven('createTimeoutMs', 2_000);
    expect(derived.build()).toMatchObject({ maintenanceIntervalMs: 5_000, createTimeoutMs: 2_000 });
    const bounds = new PoolConfigMapping({});
    bounds.maintainFor(3_600_000);
    expect(bounds.get('maintenanceIntervalMs')).toBe(30_000);
    bounds.maintainFor(5);
    expect(bounds.get('maintenanceIntervalMs')).toBe(10);
    const given = new PoolConfigMapping({ poolConfig: { maintenanceIntervalMs: 1_000, createTimeoutMs: 500 } });
    given.maintainFor(10_000);
    given.setUnlessGiven('createTimeoutMs', 2_000);
    expect(given.build()).toMatchObject({ maintenanceIntervalMs: 1_000, createTimeoutMs: 500 });
  });

  it('sets pool options from driver options, refusing one poolOptions sets otherwise', () => {
    const mapping = new PoolConfigMapping({ resetOnRelease: true, poolOptions: { recyclingStrategy: RecyclingStrategy.Fast } });
    expect(() => mapping.setOption('resetOnRelease', 'recyclingStrategy', RecyclingStrategy.Checked)).toThrow(
      /resetOnRelease = true: conflicts with poolOptions.recyclingStrategy \('fast'\); give one of them/,
    );
    mapping.setOption('resetOnRelease', 'recyclingStrategy', RecyclingStrategy.Fast);
    const aging = new PoolConfigMapping({ maxUses: 3, poolOptions: { agingPolicy: AgingPolicy.UsageBased({ maxBorrows: 2 }) } });
    expect(() => aging.setOption('maxUses', 'agingPolicy', AgingPolicy.UsageBased({ maxBorrows: 3 }), 'use Combined')).toThrow(
      /maxUses = 3: conflicts with poolOptions.agingPolicy; use Combined/,
    );
    const unset = new PoolConfigMapping({ poolOptions: { agingPolicy: null } });
    unset.setOption('maxUses', 'agingPolicy', AgingPolicy.UsageBased({ maxBorrows: 3 }));
    expect(unset.poolOptions.agingPolicy).toEqual(AgingPolicy.UsageBased({ maxBorrows: 3 }));
  });

  it('refuses options that are not an object, and a poolConfig that is neither a PoolConfig nor an object', () => {
    expect(() => new PoolConfigMapping(42, 'must be an object (a foo pool config)')).toThrow(
      /options = 42: must be an object \(a foo pool config\)/,
    );
    expect(() => new PoolConfigMapping([])).toThrow(/options/);
    expect(() => new PoolConfigMapping({ poolConfig: 5 })).toThrow(/poolConfig = 5: must be a PoolConfig or an object of pool options/);
    expect(() => new PoolConfigMapping({ poolConfig: { maxSise: 3 } }).build()).toThrow(/maxSise/);
  });
});
