import { InvalidConfigError } from '@pool/core';
import { checkInteger, checkOneOf, redactUrl } from '@pool/core/adapter';
import type pg from 'pg';

/**
 * libpq's `target_session_attrs`: which server a connection must land on, checked after connecting.
 *
 * - `'any'`: any server (the default).
 * - `'read-write'`: a server whose sessions accept writes (`transaction_read_only` is `off`).
 * - `'read-only'`: a server whose sessions refuse writes (`transaction_read_only` is `on`).
 * - `'primary'`: a server not in recovery (`pg_is_in_recovery()` is false).
 * - `'standby'`: a server in recovery.
 * - `'prefer-standby'`: a standby if one is reachable, otherwise any server.
 */
export type TargetSessionAttrs = 'any' | 'read-write' | 'read-only' | 'primary' | 'standby' | 'prefer-standby';

/** libpq's `load_balance_hosts`: `'disable'` tries the hosts in the given order, `'random'` in a random order per connection. */
export type LoadBalanceHosts = 'disable' | 'random';

/** One server of a multi-host configuration. */
export interface PgHost {
  /** Host name or address. */
  readonly host: string;
  /** TCP port. Default `5432`. */
  readonly port: number;
  /** Share of reads this host gets in a replica pool, relative to the others. Default `1`. */
  readonly weight: number;
}

/** A host as the user gives it in `hosts`. */
export interface PgHostInput {
  host: string;
  port?: number;
  /** Share of reads this host gets in a replica pool (`createPgReplicaPool`). Default `1`. */
  weight?: number;
}

/**
 * A multi-host `pg` client config: the usual client settings (user, password, database, ssl...) plus
 * the servers as `hosts` and libpq's two multi-host settings. A `connectionString` may give the hosts
 * instead (`postgres://u@h1:5432,h2:5433/db?target_session_attrs=read-write`).
 */
export interface PgMultiHostConfig extends Omit<pg.ClientConfig, 'host' | 'port'> {
  /** The servers, tried in this order (unless `loadBalanceHosts` is `'random'`). */
  hosts?: readonly PgHostInput[];
  /** See {@link TargetSessionAttrs}. Default `'any'`, or the connection string's `target_session_attrs`. */
  targetSessionAttrs?: TargetSessionAttrs;
  /** See {@link LoadBalanceHosts}. Default `'disable'`, or the connection string's `load_balance_hosts`. */
  loadBalanceHosts?: LoadBalanceHosts;
}

/** A parsed multi-host configuration: the hosts, the two libpq settings, and the client config every host shares. */
export interface ResolvedMultiHostConfig {
  readonly hosts: readonly PgHost[];
  readonly targetSessionAttrs: TargetSessionAttrs;
  readonly loadBalanceHosts: LoadBalanceHosts;
  /** The client config without host, port or connection string; one host's config is `{ ...client, host, port }`. */
  readonly client: pg.ClientConfig;
}

/** The values of {@link TargetSessionAttrs}, as libpq spells them. */
export const TARGET_SESSION_ATTRS: readonly TargetSessionAttrs[] = Object.freeze([
  'any',
  'read-write',
  'read-only',
  'primary',
  'standby',
  'prefer-standby',
]);
const LOAD_BALANCE: readonly LoadBalanceHosts[] = Object.freeze(['disable', 'random']);
const URL_SCHEME = /^(postgres(?:ql)?):\/\//i;
const DEFAULT_PORT = 5432;
/** Configs made by {@link parseMultiHostConfig}: handed back unchanged when parsed again. */
const resolvedConfigs = new WeakSet<object>();

/** `host:port`, with brackets around an IPv6 address: how hosts are named in statistics and errors. */
export function hostKey(host: { readonly host: string; readonly port: number }): string {
  return host.host.includes(':') ? `[${host.host}]:${host.port}` : `${host.host}:${host.port}`;
}

/**
 * True when `config` names more than one server, or sets `hosts`, `targetSessionAttrs` or
 * `loadBalanceHosts` (or `target_session_attrs` / `load_balance_hosts` in its connection string):
 * a configuration for {@link multiHostPgFactory} rather than a single `pg.Client`.
 */
export function isMultiHostConfig(config: unknown): boolean {
  if (typeof config === 'string') return isMultiHostUrl(config);
  if (typeof config !== 'object' || config === null) return false;
  const c = config as Record<string, unknown>;
  if (c.hosts !== undefined || c.targetSessionAttrs !== undefined || c.loadBalanceHosts !== undefined) return true;
  return typeof c.connectionString === 'string' && isMultiHostUrl(c.connectionString);
}

function isMultiHostUrl(url: string): boolean {
  const split = splitUrl(url);
  if (split === null) return false;
  return split.hosts.includes(',') || /[?&](?:target_session_attrs|load_balance_hosts)=/.test(split.rest);
}

/** `scheme://userinfo@hosts/rest` cut into its parts (the host list is what `new URL()` cannot read). */
function splitUrl(url: string): { scheme: string; userinfo: string; hosts: string; rest: string } | null {
  const m = URL_SCHEME.exec(url);
  if (m === null) return null;
  const afterScheme = url.slice(m[0].length);
  const end = afterScheme.search(/[/?#]/);
  const authority = end < 0 ? afterScheme : afterScheme.slice(0, end);
  const rest = end < 0 ? '' : afterScheme.slice(end);
  const at = authority.lastIndexOf('@');
  return {
    scheme: m[1] as string,
    userinfo: at < 0 ? '' : authority.slice(0, at + 1),
    hosts: at < 0 ? authority : authority.slice(at + 1),
    rest,
  };
}

/** Splits `h1:5432,[::1]:5433,h3` into hosts; a missing port is `defaultPort`. */
function parseHostList(list: string, defaultPort: number, shown: string): PgHost[] {
  if (list === '') return [];
  return list.split(',').map((item) => {
    let host: string;
    let port: string | undefined;
    if (item.startsWith('[')) {
      const close = item.indexOf(']');
      if (close < 0) throw new InvalidConfigError('connectionString', shown, `has an unclosed '[' in host '${item}'`);
      host = item.slice(1, close);
      const after = item.slice(close + 1);
      if (after !== '' && !after.startsWith(':')) throw new InvalidConfigError('connectionString', shown, `has a malformed host '${item}'`);
      port = after === '' ? undefined : after.slice(1);
    } else {
      const colon = item.lastIndexOf(':');
      host = colon < 0 ? item : item.slice(0, colon);
      port = colon < 0 ? undefined : item.slice(colon + 1);
    }
    host = decodeURIComponent(host);
    if (host === '')
      throw new InvalidConfigError('connectionString', shown, `has an empty host in '${list}' (hosts are separated by commas)`);
    let portNumber = defaultPort;
    if (port !== undefined && port !== '') {
      if (!/^\d+$/.test(port))
        throw new InvalidConfigError('connectionString', shown, `has port '${port}' for host '${host}': must be an integer`);
      portNumber = checkInteger(`port of ${host}`, Number(port), 1, 65_535);
    }
    return { host, port: portNumber, weight: 1 };
  });
}

function checkHosts(value: unknown): PgHost[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new InvalidConfigError('hosts', value, 'must be a non-empty array of { host, port?, weight? }');
  }
  return value.map((h: unknown, i) => {
    const field = `hosts[${i}]`;
    if (typeof h !== 'object' || h === null) throw new InvalidConfigError(field, h, 'must be { host, port?, weight? }');
    const { host, port, weight, ...extra } = h as Record<string, unknown>;
    const unknownKey = Object.keys(extra)[0];
    if (unknownKey !== undefined) {
      throw new InvalidConfigError(`${field}.${unknownKey}`, extra[unknownKey], 'is not a host field (host, port, weight)');
    }
    if (typeof host !== 'string' || host.trim() === '') throw new InvalidConfigError(`${field}.host`, host, 'must be a non-empty string');
    const p = port === undefined ? DEFAULT_PORT : checkInteger(`${field}.port`, port, 1, 65_535);
    const w = weight === undefined ? 1 : weight;
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
      throw new InvalidConfigError(
        `${field}.weight`,
        w,
        'must be a finite number of 0 or more (0: never chosen for reads while another host can serve them)',
      );
    }
    return { host, port: p, weight: w };
  });
}

/**
 * Parses a libpq-style multi-host configuration: a connection string
 * (`postgres://user:pw@h1:5432,h2:5433/db?target_session_attrs=read-write&load_balance_hosts=random`)
 * or a {@link PgMultiHostConfig} object (`hosts: [{ host, port }]`). Other connection-string parameters
 * (`sslmode`, `application_name`...) are read by `pg` as for one host. Throws `InvalidConfigError`
 * naming the field for anything malformed; the password is never shown in the error.
 *
 * @example
 * ```ts
 * const { hosts, targetSessionAttrs } = parseMultiHostConfig('postgres://app@db1,db2:5433/app?target_session_attrs=primary');
 * // hosts: [{ host: 'db1', port: 5432, weight: 1 }, { host: 'db2', port: 5433, weight: 1 }]
 * ```
 */
export function parseMultiHostConfig(config: string | PgMultiHostConfig | ResolvedMultiHostConfig): ResolvedMultiHostConfig {
  if (typeof config === 'object' && config !== null && resolvedConfigs.has(config)) return config as ResolvedMultiHostConfig;
  const given: PgMultiHostConfig = typeof config === 'string' ? { connectionString: config } : config;
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    throw new InvalidConfigError('config', given, 'must be a postgres:// connection string or a client config object with hosts');
  }
  const {
    hosts: hostsOption,
    targetSessionAttrs,
    loadBalanceHosts,
    connectionString,
    ...client
  } = given as PgMultiHostConfig & {
    host?: unknown;
    port?: unknown;
  };
  if ((client as { host?: unknown }).host !== undefined || (client as { port?: unknown }).port !== undefined) {
    throw new InvalidConfigError(
      'host',
      (client as { host?: unknown }).host ?? (client as { port?: unknown }).port,
      'cannot be combined with hosts or a multi-host connection string; list every server in hosts: [{ host, port }]',
    );
  }
  let urlHosts: PgHost[] = [];
  let urlTarget: string | null = null;
  let urlBalance: string | null = null;
  let singleUrl: string | undefined;
  if (connectionString !== undefined) {
    if (typeof connectionString !== 'string') {
      throw new InvalidConfigError('connectionString', connectionString, 'must be a postgres:// connection string');
    }
    const shown = redactUrl(connectionString);
    const split = splitUrl(connectionString);
    if (split === null) {
      throw new InvalidConfigError(
        'connectionString',
        shown,
        'must start with postgres:// or postgresql:// (e.g. postgres://user@h1:5432,h2:5432/db)',
      );
    }
    const query = split.rest.indexOf('?');
    const params = new URLSearchParams(query < 0 ? '' : split.rest.slice(query + 1).split('#')[0]);
    urlTarget = params.get('target_session_attrs');
    urlBalance = params.get('load_balance_hosts');
    params.delete('target_session_attrs');
    params.delete('load_balance_hosts');
    const portParam = params.get('port');
    const defaultPort = portParam === null ? DEFAULT_PORT : checkInteger('connectionString port', Number(portParam), 1, 65_535);
    params.delete('port');
    if (params.get('host') !== null) {
      throw new InvalidConfigError(
        'connectionString',
        shown,
        'has a host parameter; give the hosts in the authority part (postgres://user@h1:5432,h2:5432/db)',
      );
    }
    urlHosts = parseHostList(split.hosts, defaultPort, shown);
    const path = query < 0 ? split.rest : split.rest.slice(0, query);
    const search = params.toString();
    // One host's URL, without a host: pg reads user, password, database and ssl settings from it; the host
    // and port are set per server.
    singleUrl = `${split.scheme}://${split.userinfo}placeholder${path}${search === '' ? '' : `?${search}`}`;
  }
  if (hostsOption !== undefined && urlHosts.length > 0) {
    throw new InvalidConfigError('hosts', hostsOption, 'cannot be combined with hosts in the connection string; give them in one place');
  }
  const hosts =
    hostsOption !== undefined
      ? checkHosts(hostsOption)
      : urlHosts.length > 0
        ? urlHosts
        : [{ host: 'localhost', port: DEFAULT_PORT, weight: 1 }];
  if (targetSessionAttrs !== undefined && urlTarget !== null && targetSessionAttrs !== urlTarget) {
    throw new InvalidConfigError(
      'targetSessionAttrs',
      targetSessionAttrs,
      `conflicts with target_session_attrs=${urlTarget} in the connection string`,
    );
  }
  if (loadBalanceHosts !== undefined && urlBalance !== null && loadBalanceHosts !== urlBalance) {
    throw new InvalidConfigError(
      'loadBalanceHosts',
      loadBalanceHosts,
      `conflicts with load_balance_hosts=${urlBalance} in the connection string`,
    );
  }
  const target = checkOneOf(
    urlTarget !== null ? 'target_session_attrs' : 'targetSessionAttrs',
    targetSessionAttrs ?? urlTarget ?? 'any',
    TARGET_SESSION_ATTRS,
  );
  const balance = checkOneOf(
    urlBalance !== null ? 'load_balance_hosts' : 'loadBalanceHosts',
    loadBalanceHosts ?? urlBalance ?? 'disable',
    LOAD_BALANCE,
  );
  const base = client as pg.ClientConfig;
  const resolvedClient: pg.ClientConfig = singleUrl === undefined ? { ...base } : { ...base, connectionString: singleUrl };
  const hostList = Object.freeze(hosts.map((h) => Object.freeze(h)));
  return withTarget({ hosts: hostList, targetSessionAttrs: target, loadBalanceHosts: balance, client: resolvedClient }, target);
}

/** The same parsed configuration (the same host objects) with another `target_session_attrs`. */
export function withTarget(config: ResolvedMultiHostConfig, targetSessionAttrs: TargetSessionAttrs): ResolvedMultiHostConfig {
  const out = Object.freeze({ ...config, targetSessionAttrs });
  resolvedConfigs.add(out);
  return out;
}

/**
 * The client config for one host. With a connection string, pg takes the host from it, so the host is
 * written into the URL; with separate fields, `host` and `port` are set.
 */
export function hostClientConfig(client: pg.ClientConfig, host: PgHost): pg.ClientConfig {
  const url = client.connectionString;
  if (url === undefined) return { ...client, host: host.host, port: host.port };
  const name = host.host.includes(':') ? `[${host.host}]` : encodeURIComponent(host.host);
  return {
    ...client,
    connectionString: url.replace('@placeholder', `@${name}:${host.port}`).replace('://placeholder', `://${name}:${host.port}`),
  };
}
