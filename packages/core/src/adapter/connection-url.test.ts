import { InvalidConfigError } from '@pool/core';
import { describe, expect, it } from 'vitest';
import { describeEndpoint, describeUrl, parseConnectionUrl, redactUrl } from './connection-url.js';

describe('redactUrl', () => {
  it('hides the password of a URL and of every password parameter', () => {
    expect(redactUrl('postgres://app:hunter2@db:5432/app')).toBe('postgres://app:***@db:5432/app');
    expect(redactUrl('postgresql://db/app?user=a&password=hunter2&ssl=1')).toBe('postgresql://db/app?user=a&password=***&ssl=1');
    expect(redactUrl('mysql://db/app?password1=a&Password2=b')).toBe('mysql://db/app?password1=***&Password2=***');
    expect(redactUrl('postgres://db/app')).toBe('postgres://db/app');
  });

  it('redacts text that is not a valid URL too', () => {
    expect(redactUrl('postgres://app:hunter2@db:notaport/app')).toBe('postgres://app:***@db:notaport/app');
  });
});

describe('describeUrl', () => {
  it('drops the password and password parameters, keeping the other parameters', () => {
    expect(describeUrl('postgres://app:hunter2@db:5432/app?password=x&sslmode=require')).toBe('postgres://app@db:5432/app?sslmode=require');
  });

  it('drops every parameter with query: false', () => {
    expect(describeUrl('mysql://app:hunter2@db:3306/app?charset=utf8mb4', { query: false })).toBe('mysql://app@db:3306/app');
  });

  it('falls back to redaction for a string URL() refuses', () => {
    expect(describeUrl('postgres://app:hunter2@db:notaport/app')).toBe('postgres://app:***@db:notaport/app');
  });
});

describe('describeEndpoint', () => {
  it('names a server by scheme, user, host:port (or socket) and database', () => {
    expect(describeEndpoint({ scheme: 'postgres', user: 'app', host: 'db', port: 5432, database: 'app' })).toBe(
      'postgres://app@db:5432/app',
    );
    expect(describeEndpoint({ scheme: 'redis', user: '', host: '127.0.0.1', port: 6379, database: 0 })).toBe('redis://127.0.0.1:6379/0');
    expect(describeEndpoint({ scheme: 'mysql', socketPath: '/run/mysqld.sock', host: 'ignored', database: undefined })).toBe(
      'mysql:///run/mysqld.sock/',
    );
  });
});

describe('parseConnectionUrl', () => {
  const rules = { schemes: ['postgres://', 'postgresql://', 'socket:'], example: 'postgres://user:password@host:5432/database' };

  it('returns the parsed URL of an accepted scheme', () => {
    expect(parseConnectionUrl('connectionString', 'postgresql://db/app', rules).hostname).toBe('db');
    expect(parseConnectionUrl('connectionString', 'socket:/var/run/postgresql?db=app', rules).protocol).toBe('socket:');
  });

  it('names the field and the rule, never showing the password', () => {
    const error = (() => {
      try {
        parseConnectionUrl('connectionString', 'postgres://app:hunter2@db:notaport/app', rules);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error).toMatchObject({ field: 'connectionString' });
    expect((error as Error).message).toMatch(/is not a valid URL; expected postgres:\/\/user:password@host:5432\/database/);
    expect((error as Error).message).not.toContain('hunter2');
    expect(() => parseConnectionUrl('connectionString', 'mysql://u:hunter2@db/app', rules)).toThrow(
      "mysql://u:***@db/app\": must start with 'postgres://', 'postgresql://' or 'socket:'",
    );
    expect(() => parseConnectionUrl('url', ' ', { schemes: ['redis://'], example: 'redis://host' })).toThrow(
      /url = " ": must be a non-empty redis:\/\/ URL/,
    );
    expect(() => parseConnectionUrl('url', 42, { schemes: ['redis://'], example: 'redis://host' })).toThrow(/url = 42/);
  });
});
