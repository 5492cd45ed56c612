import { describe, expect, it } from 'vitest';
import { redactUrl, scrub } from './redact.js';

describe('redaction', () => {
  it('hides the password of a connection string', () => {
    expect(redactUrl('postgres://app:hunter2@db:5432/app')).toBe('postgres://app:***@db:5432/app');
    expect(redactUrl('postgresql://db/app?user=a&password=hunter2&ssl=1')).toBe('postgresql://db/app?user=a&password=***&ssl=1');
    expect(redactUrl('postgres://db/app')).toBe('postgres://db/app');
  });

  it('replaces an error that shows the secret, keeping its name and code', () => {
    const error = Object.assign(new TypeError('bad url postgres://a:hunter2@x'), { code: 'ERR_INVALID_URL' });
    const clean = scrub(error, 'hunter2') as Error & { code: string };
    expect(clean).not.toBe(error);
    expect(clean.message).toBe('bad url postgres://a:***@x');
    expect(clean.stack).not.toContain('hunter2');
    expect(clean.name).toBe('TypeError');
    expect(clean.code).toBe('ERR_INVALID_URL');
  });

  it('returns other errors unchanged', () => {
    const error = new Error('connect ECONNREFUSED');
    expect(scrub(error, 'hunter2')).toBe(error);
    expect(scrub(error, undefined)).toBe(error);
    expect(scrub('text', 'hunter2')).toBe('text');
  });
});
