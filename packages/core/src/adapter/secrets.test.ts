import { describe, expect, it } from 'vitest';
import { collectSecrets, scrubSecrets } from './secrets.js';

describe('collectSecrets', () => {
  it('collects the given passwords and those of a URL, decoded and as written, without duplicates', () => {
    expect(collectSecrets(['hunter2', '', undefined, 42], 'mysql://app:p%40ss@db/app?password1=second&x=1')).toEqual([
      'hunter2',
      'p%40ss',
      'p@ss',
      'second',
    ]);
    expect(collectSecrets(['same'], 'postgres://a:same@db/app')).toEqual(['same']);
  });

  it('reads nothing from a string that is not a URL, or from a URL without a password', () => {
    expect(collectSecrets([], 'not a url')).toEqual([]);
    expect(collectSecrets([], 'redis://127.0.0.1:6379')).toEqual([]);
    expect(collectSecrets([], 'postgres://a:%E0%A4%A@db/app')).toEqual(['%E0%A4%A']);
  });
});

describe('scrubSecrets', () => {
  it('replaces an error whose message shows a secret, keeping its name and the fields callers branch on', () => {
    const error = Object.assign(new TypeError('bad url postgres://a:hunter2@x'), {
      code: 'ERR_INVALID_URL',
      errno: 1045,
      sqlState: '28000',
      fatal: true,
    });
    const clean = scrubSecrets(error, ['hunter2']) as Error & Record<string, unknown>;
    expect(clean).not.toBe(error);
    expect(clean.message).toBe('bad url postgres://a:***@x');
    expect(clean.stack).not.toContain('hunter2');
    expect(clean.name).toBe('TypeError');
    expect(clean).toMatchObject({ code: 'ERR_INVALID_URL', errno: 1045, sqlState: '28000', fatal: true });
  });

  it('finds a secret in a property (the arguments of a failed AUTH) or in the cause, and drops those', () => {
    const auth = Object.assign(new Error('WRONGPASS invalid username-password pair'), {
      command: { name: 'auth', args: ['app', 'hunter2'] },
    });
    const scrubbed = scrubSecrets(auth, ['hunter2']) as Error;
    expect(scrubbed).not.toBe(auth);
    expect(scrubbed.message).toBe('WRONGPASS invalid username-password pair');
    expect(JSON.stringify({ ...scrubbed })).not.toContain('hunter2');

    const wrapped = new Error('connect failed', { cause: new Error('password hunter2 refused') });
    const clean = scrubSecrets(wrapped, ['hunter2']) as Error;
    expect(clean).not.toBe(wrapped);
    expect(clean.cause).toBeUndefined();
  });

  it('replaces every secret shown, the longest first', () => {
    const error = new Error('tried p@ss and p@ss-longer');
    expect((scrubSecrets(error, ['p@ss', 'p@ss-longer']) as Error).message).toBe('tried *** and ***');
  });

  it('returns errors that show no secret, and non-errors, unchanged', () => {
    const error = new Error('connect ECONNREFUSED 127.0.0.1:1');
    expect(scrubSecrets(error, ['hunter2'])).toBe(error);
    expect(scrubSecrets(error, [])).toBe(error);
    expect(scrubSecrets(error, [''])).toBe(error);
    expect(scrubSecrets('text hunter2', ['hunter2'])).toBe('text hunter2');
  });

  it('survives cyclic errors, throwing getters and large buffers', () => {
    const error = new Error('loop') as Error & { self?: unknown; data?: Buffer };
    error.self = error;
    error.data = Buffer.alloc(100_000);
    Object.defineProperty(error, 'explodes', {
      enumerable: true,
      get() {
        throw new Error('getter');
      },
    });
    expect(scrubSecrets(error, ['hunter2'])).toBe(error);
  });
});
