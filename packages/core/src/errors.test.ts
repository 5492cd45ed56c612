import { describe, expect, it } from 'vitest';
import {
  ConnectionTimeoutError,
  InvalidConfigError,
  isPoolError,
  PoolClosedError,
  PoolError,
  PoolExhaustedError,
  toPoolError,
  ValidationFailedError,
} from './errors.js';

describe('errors', () => {
  it('carry a stable code, a name and a cause', () => {
    const cause = new Error('ECONNREFUSED');
    const err = new ConnectionTimeoutError(250, cause);
    expect(err).toBeInstanceOf(PoolError);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('ERR_POOL_CONNECTION_TIMEOUT');
    expect(err.name).toBe('ConnectionTimeoutError');
    expect(err.timeoutMs).toBe(250);
    expect(err.cause).toBe(cause);
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('PoolExhaustedError reports active and max, and the partition when there is one', () => {
    const err = new PoolExhaustedError({ active: 10, max: 10, waiting: 5 });
    expect([err.active, err.max, err.waiting]).toEqual([10, 10, 5]);
    expect(err.message).toContain('10/10');
    const p = new PoolExhaustedError({ active: 3, max: 3, waiting: 1, partition: 'tenant_acme' });
    expect(p.partition).toBe('tenant_acme');
    expect(p.message).toContain("Partition 'tenant_acme'");
  });

  it('isPoolError narrows by class and code', () => {
    const err = new PoolClosedError();
    expect(isPoolError(err)).toBe(true);
    expect(isPoolError(err, 'ERR_POOL_CLOSED')).toBe(true);
    expect(isPoolError(err, 'ERR_POOL_EXHAUSTED')).toBe(false);
    expect(isPoolError(new Error('x'))).toBe(false);
  });

  it('toPoolError keeps pool errors and wraps anything else', () => {
    const own = new ValidationFailedError('bad');
    expect(toPoolError(own)).toBe(own);
    const wrapped = toPoolError('boom');
    expect(wrapped).toBeInstanceOf(PoolError);
    expect(wrapped.cause).toBe('boom');
    expect(wrapped.message).toBe('boom');
  });

  it('InvalidConfigError shows odd values readably', () => {
    expect(new InvalidConfigError('x', Number.NaN, 'r').message).toContain('x = NaN');
    expect(new InvalidConfigError('x', 'str', 'r').message).toContain('x = "str"');
    expect(new InvalidConfigError('x', undefined, 'r').message).toContain('x = undefined');
  });
});
