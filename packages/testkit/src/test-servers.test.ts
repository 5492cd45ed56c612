import { afterEach, describe, expect, it, vi } from 'vitest';
import { addressOf, passwordOf, serverUrl, uniqueName, urlVia, withPassword } from './test-servers.js';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('test server URLs', () => {
  it('reads a server URL from the environment, with a local default', () => {
    vi.stubEnv('POOL_TESTKIT_URL', 'redis://cache:6380');
    expect(serverUrl('POOL_TESTKIT_URL', 'redis://127.0.0.1:6379')).toBe('redis://cache:6380');
    expect(serverUrl('POOL_TESTKIT_UNSET_URL', 'redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });

  it('gives the host and port of a URL, with the default port when it names none', () => {
    expect(addressOf('postgres://u@db.local:6543/app', 5432)).toEqual({ host: 'db.local', port: 6543 });
    expect(addressOf('postgres://u@127.0.0.1/app', 5432)).toEqual({ host: '127.0.0.1', port: 5432 });
  });

  it('points a URL at another address, keeping credentials, database and parameters', () => {
    expect(urlVia({ host: '127.0.0.1', port: 40_001 }, 'mysql://app:s3cret@db:3306/test?charset=utf8mb4')).toBe(
      'mysql://app:s3cret@127.0.0.1:40001/test?charset=utf8mb4',
    );
  });

  it('adds a password only to a URL without one, and reads it back decoded', () => {
    const url = withPassword('postgres://postgres@127.0.0.1:5432/test', 'p@ss');
    expect(passwordOf(url)).toBe('p@ss');
    expect(withPassword('postgres://a:kept@db/test', 'other')).toBe('postgres://a:kept@db/test');
    expect(passwordOf('redis://127.0.0.1:6379')).toBe('');
  });

  it('makes names unique to the run, with the given separator', () => {
    const a = uniqueName('pool_pg_users');
    expect(a).toMatch(new RegExp(`^pool_pg_users_${process.pid}_[0-9a-z]+_[0-9a-z]+$`));
    expect(uniqueName('pool:redis:test:jobs', ':')).toMatch(new RegExp(`^pool:redis:test:jobs:${process.pid}:[0-9a-z]+:[0-9a-z]+$`));
    expect(new Set(Array.from({ length: 50 }, () => uniqueName('t'))).size).toBeGreaterThan(1);
  });
});
