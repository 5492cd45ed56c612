import { InvalidConfigError } from '@pool/core';
import { describe, expect, it } from 'vitest';
import { hostClientConfig, hostKey, isMultiHostConfig, parseMultiHostConfig } from './multi-host-config.js';

describe('parseMultiHostConfig', () => {
  it('reads libpq multi-host connection strings: hosts with their ports, target_session_attrs and load_balance_hosts', () => {
    const parsed = parseMultiHostConfig(
      'postgres://app:s3cret@db1:5432,db2:5433,[::1]:5434,db4/app?target_session_attrs=read-write&load_balance_hosts=random&application_name=web',
    );
    expect(parsed.hosts.map(hostKey)).toEqual(['db1:5432', 'db2:5433', '[::1]:5434', 'db4:5432']);
    expect(parsed.targetSessionAttrs).toBe('read-write');
    expect(parsed.loadBalanceHosts).toBe('random');
    const one = hostClientConfig(parsed.client, parsed.hosts[1] as (typeof parsed.hosts)[number]);
    expect(one.connectionString).toBe('postgres://app:s3cret@db2:5433/app?application_name=web');
    const v6 = hostClientConfig(parsed.client, parsed.hosts[2] as (typeof parsed.hosts)[number]);
    expect(v6.connectionString).toBe('postgres://app:s3cret@[::1]:5434/app?application_name=web');
  });

  // libpq's documented multi-host URIs (PostgreSQL manual, 34.1.1.2 "Connection URIs", and libpq's URI tests).
  it('reads the multi-host URIs of the libpq documentation as libpq does', () => {
    const documented = parseMultiHostConfig('postgresql://host1:123,host2:456/somedb?target_session_attrs=any&application_name=myapp');
    expect(documented.hosts.map(hostKey)).toEqual(['host1:123', 'host2:456']);
    expect(documented.targetSessionAttrs).toBe('any');
    expect(hostClientConfig(documented.client, documented.hosts[0] as (typeof documented.hosts)[number]).connectionString).toBe(
      'postgresql://host1:123/somedb?application_name=myapp',
    );
    const three = parseMultiHostConfig('postgresql://host1:1,host2:2,host3:3/');
    expect(three.hosts.map(hostKey)).toEqual(['host1:1', 'host2:2', 'host3:3']);
    expect(hostClientConfig(three.client, three.hosts[2] as (typeof three.hosts)[number]).connectionString).toBe('postgresql://host3:3/');
  });

  it('takes a port parameter as the default port of hosts written without one, as libpq does', () => {
    const parsed = parseMultiHostConfig('postgresql://db1,db2:6000/app?port=6432');
    expect(parsed.hosts.map(hostKey)).toEqual(['db1:6432', 'db2:6000']);
    expect(parsed.targetSessionAttrs).toBe('any');
    expect(parsed.loadBalanceHosts).toBe('disable');
    expect(hostClientConfig(parsed.client, parsed.hosts[0] as (typeof parsed.hosts)[number]).connectionString).toBe(
      'postgresql://db1:6432/app',
    );
  });

  it('reads the same settings as options: hosts [{ host, port, weight }], targetSessionAttrs, loadBalanceHosts', () => {
    const parsed = parseMultiHostConfig({
      hosts: [{ host: 'db1' }, { host: 'db2', port: 5433, weight: 3 }],
      targetSessionAttrs: 'prefer-standby',
      loadBalanceHosts: 'random',
      user: 'app',
      database: 'app',
    });
    expect(parsed.hosts).toEqual([
      { host: 'db1', port: 5432, weight: 1 },
      { host: 'db2', port: 5433, weight: 3 },
    ]);
    expect(parsed.targetSessionAttrs).toBe('prefer-standby');
    expect(hostClientConfig(parsed.client, parsed.hosts[1] as (typeof parsed.hosts)[number])).toEqual({
      user: 'app',
      database: 'app',
      host: 'db2',
      port: 5433,
    });
  });

  it.each([
    ['postgres://db1,db2/app?target_session_attrs=writable', /target_session_attrs.*'any', 'read-write'/],
    ['postgres://db1,db2/app?load_balance_hosts=yes', /load_balance_hosts.*'disable' or 'random'/],
    ['postgres://db1,,db2/app', /empty host/],
    ['postgres://db1:54x2,db2/app', /port '54x2'/],
    ['postgres://db1:70000,db2/app', /port of db1/],
    ['postgres://[::1,db2/app', /unclosed/],
    ['mysql://db1,db2/app', /must start with postgres:\/\//],
  ])('refuses %s with an error naming the rule', (url, message) => {
    expect(() => parseMultiHostConfig(url)).toThrow(InvalidConfigError);
    expect(() => parseMultiHostConfig(url)).toThrow(message);
  });

  it('never shows the password in an error', () => {
    try {
      parseMultiHostConfig('postgres://app:hunter2@db1,,db2/app');
      expect.unreachable();
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('hunter2');
    }
  });

  it.each([
    [{ hosts: [] }, 'hosts', /non-empty array/],
    [{ hosts: [{ host: '' }] }, 'hosts[0].host', /non-empty string/],
    [{ hosts: [{ host: 'a', port: 0 }] }, 'hosts[0].port', /between 1 and 65535/],
    [{ hosts: [{ host: 'a', weight: -1 }] }, 'hosts[0].weight', /0 or more/],
    [{ hosts: [{ host: 'a', name: 'x' }] }, 'hosts[0].name', /not a host field/],
    [{ hosts: [{ host: 'a' }], host: 'b' }, 'host', /cannot be combined/],
    [{ hosts: [{ host: 'a' }], connectionString: 'postgres://b,c/db' }, 'hosts', /one place/],
    [
      { connectionString: 'postgres://b,c/db?target_session_attrs=primary', targetSessionAttrs: 'standby' },
      'targetSessionAttrs',
      /conflicts/,
    ],
    [{ hosts: [{ host: 'a' }], targetSessionAttrs: 'master' }, 'targetSessionAttrs', /must be 'any'/],
  ])('refuses bad options (%j) naming %s', (options, field, message) => {
    try {
      parseMultiHostConfig(options as never);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidConfigError);
      expect((error as InvalidConfigError & { field: string }).field).toBe(field);
      expect((error as Error).message).toMatch(message);
    }
  });

  it('tells a multi-host configuration from a single-host one', () => {
    expect(isMultiHostConfig('postgres://db1,db2/app')).toBe(true);
    expect(isMultiHostConfig('postgres://db1/app?target_session_attrs=read-write')).toBe(true);
    expect(isMultiHostConfig({ hosts: [{ host: 'a' }] })).toBe(true);
    expect(isMultiHostConfig({ connectionString: 'postgres://a:1,b:2/db' })).toBe(true);
    expect(isMultiHostConfig('postgres://db1:5432/app?sslmode=require')).toBe(false);
    expect(isMultiHostConfig({ host: 'db1', port: 5432 })).toBe(false);
  });
});
