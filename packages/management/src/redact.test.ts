import { describe, expect, it } from 'vitest';
import { TokenAuthenticator } from './auth.js';
import { isLoopbackHost, mergeExpositions, negotiateFormat, redact, redactText } from './index.js';

describe('redactText', () => {
  it('hides URL passwords, key=value secrets and known secrets, and keeps the rest', () => {
    expect(redactText('connect ECONNREFUSED postgres://app:hunter2@db:5432/prod')).toBe(
      'connect ECONNREFUSED postgres://app:[redacted]@db:5432/prod',
    );
    expect(redactText('redis://:s3cret@cache:6379/0')).toBe('redis://:[redacted]@cache:6379/0');
    expect(redactText('mysql://root@db/app?password=pw&ssl=true')).toBe('mysql://root@db/app?password=[redacted]&ssl=true');
    expect(redactText("Server=db;Password='a b';User Id=app")).toBe('Server=db;Password=[redacted];User Id=app');
    expect(redactText('token=abc pwd = x2')).toBe('token=[redacted] pwd = [redacted]');
    expect(redactText('leaked my-extra-secret here', { secrets: ['my-extra-secret'] })).toBe('leaked [redacted] here');
    expect(redactText('postgres://app@db:5432/prod, maxTokens=3')).toBe('postgres://app@db:5432/prod, maxTokens=3');
  });
});

describe('redact', () => {
  it('turns anything into JSON-safe data without credentials', () => {
    const cyclic: Record<string, unknown> = { name: 'a' };
    cyclic.self = cyclic;
    const out = redact({
      password: 'p',
      db_password: 'p',
      apiKey: 'k',
      'X-Api-Key': 'k',
      authorization: 'Bearer t',
      connectionString: 'postgres://u@h/d',
      url: 'redis://h',
      emptyPassword: '',
      nested: { list: [{ secret: 's', ok: 1 }], map: new Map([['token', 't']]), set: new Set([1, 2]) },
      big: 10n,
      nan: Number.NaN,
      when: new Date(0),
      fn: function named() {},
      error: Object.assign(new Error('bad postgres://u:pw@h/d'), { code: 'E1', stack: 'at secret.ts:1' }),
      cyclic,
      bytes: new Uint8Array(3),
    });
    expect(out).toEqual({
      password: '[redacted]',
      db_password: '[redacted]',
      apiKey: '[redacted]',
      'X-Api-Key': '[redacted]',
      authorization: '[redacted]',
      connectionString: '[redacted]',
      url: '[redacted]',
      emptyPassword: '',
      nested: { list: [{ secret: '[redacted]', ok: 1 }], map: { token: '[redacted]' }, set: [1, 2] },
      big: '10',
      nan: null,
      when: '1970-01-01T00:00:00.000Z',
      fn: '[function named]',
      error: { name: 'Error', code: 'E1', message: 'bad postgres://u:[redacted]@h/d' },
      cyclic: { name: 'a', self: '[circular]' },
      bytes: '[Uint8Array 3 bytes]',
    });
  });

  it('cuts structures deeper than maxDepth', () => {
    expect(redact({ a: { b: { c: 1 } } }, { maxDepth: 2 })).toEqual({ a: { b: '[truncated]' } });
  });
});

describe('helpers', () => {
  it('negotiates formats with quality values', () => {
    const all = ['prometheus', 'json', 'csv'] as const;
    expect(negotiateFormat(undefined, all)).toBe('prometheus');
    expect(negotiateFormat('application/json', all)).toBe('json');
    expect(negotiateFormat('text/csv;q=0.4, application/json;q=0.8', all)).toBe('json');
    expect(negotiateFormat('application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1', all)).toBe('prometheus');
    expect(negotiateFormat('text/plain', ['json', 'csv'])).toBeNull();
    expect(negotiateFormat('text/*', ['json', 'csv'])).toBe('csv');
    expect(negotiateFormat('application/json;q=0', ['json'])).toBeNull();
  });

  it('merges expositions under one header per metric family', () => {
    const a = '# HELP m help\n# TYPE m gauge\nm{pool_name="a"} 1\n# HELP n n\n# TYPE n counter\nn{pool_name="a"} 2\n';
    const b = '# HELP m help\n# TYPE m gauge\nm{pool_name="b"} 3\n';
    expect(mergeExpositions([a, b])).toBe(
      '# HELP m help\n# TYPE m gauge\nm{pool_name="a"} 1\nm{pool_name="b"} 3\n# HELP n n\n# TYPE n counter\nn{pool_name="a"} 2\n',
    );
  });

  it('knows loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '::ffff:10.0.0.1']) expect(isLoopbackHost(h), h).toBe(false);
  });

  it('grants read or admin access only for the exact tokens', () => {
    const auth = new TokenAuthenticator({ readToken: 'r'.repeat(16), adminToken: ['a'.repeat(16), 'b'.repeat(20)] });
    expect(auth.check('r'.repeat(16))).toBe('read');
    expect(auth.check('a'.repeat(16))).toBe('admin');
    expect(auth.check('b'.repeat(20))).toBe('admin');
    expect(auth.check('r'.repeat(15))).toBeNull();
    expect(auth.check('r'.repeat(17))).toBeNull();
    expect(auth.check('')).toBeNull();
  });
});
