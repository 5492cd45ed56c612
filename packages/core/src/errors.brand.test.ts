import { describe, expect, it, vi } from 'vitest';
import * as errors from './errors.js';

/** A second, independent copy of the errors module, as a second installed `@pool/core` would load. */
async function secondCopy(): Promise<typeof errors> {
  vi.resetModules();
  const other = await import('./errors.js');
  expect(other.PoolError).not.toBe(errors.PoolError);
  return other;
}

describe('errors made by another copy of @pool/core', () => {
  it('are recognised by isPoolError, with and without a code', async () => {
    const other = await secondCopy();
    const err = new other.PoolClosedError();
    expect(errors.isPoolError(err)).toBe(true);
    expect(errors.isPoolError(err, 'ERR_POOL_CLOSED')).toBe(true);
    expect(errors.isPoolError(err, 'ERR_POOL_EXHAUSTED')).toBe(false);
    expect(other.isPoolError(new errors.ConnectionTimeoutError(10))).toBe(true);
  });

  it('pass instanceof for their own class and PoolError, and fail it for another class', async () => {
    const other = await secondCopy();
    const err = new other.ConnectionTimeoutError(10);
    expect(err instanceof errors.PoolError).toBe(true);
    expect(err instanceof errors.ConnectionTimeoutError).toBe(true);
    expect(err instanceof errors.PoolExhaustedError).toBe(false);
    expect(new errors.InvalidConfigError('maxSize', 0, 'must be > 0') instanceof other.InvalidConfigError).toBe(true);
  });

  it('are returned as is by toPoolError', async () => {
    const other = await secondCopy();
    const err = new other.ConnectionCreateError('connect failed');
    expect(errors.toPoolError(err)).toBe(err);
  });

  it('subclasses defined outside core keep their own instanceof', () => {
    class DeadlockLikeError extends errors.PoolError {
      constructor() {
        super('ERR_POOL_DEADLOCK', 'deadlock');
        this.name = 'DeadlockLikeError';
      }
    }
    const err = new DeadlockLikeError();
    expect(err instanceof DeadlockLikeError).toBe(true);
    expect(err instanceof errors.PoolError).toBe(true);
    expect(new errors.PoolClosedError() instanceof DeadlockLikeError).toBe(false);
  });

  it('a plain error or an object forging only the name is not a PoolError', () => {
    expect(errors.isPoolError(new Error('PoolError'))).toBe(false);
    const forged = Object.assign(Object.create(Error.prototype), { name: 'PoolError', code: 'ERR_POOL_CLOSED' });
    expect(forged instanceof errors.PoolError).toBe(false);
    expect(errors.isPoolError(null)).toBe(false);
    expect(errors.isPoolError('ERR_POOL_CLOSED')).toBe(false);
  });
});
