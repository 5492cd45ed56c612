import { InvalidConfigError } from '@pool/core';
import { listChoices } from './options.js';

const USERINFO_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*):[^@/?#]*@/i;
const PASSWORD_PARAMETER = /([?&]password\d?=)[^&#]*/gi;
const PASSWORD_KEY = /^password\d?$/i;

/**
 * Replaces the password of a connection URL (`scheme://user:password@host/...`) and the values of its
 * `password`, `password1`... parameters with `***`. It works on the text, so it also redacts a string
 * that `new URL()` refuses: use it for the value shown in the error about a malformed URL.
 *
 * @example
 * ```ts
 * redactUrl('postgres://app:hunter2@db/app'); // 'postgres://app:***@db/app'
 * ```
 */
export function redactUrl(url: string): string {
  return url.replace(USERINFO_PASSWORD, '$1:***@').replace(PASSWORD_PARAMETER, '$1***');
}

/**
 * A connection URL as a log may show it (a factory's `toString()`): without its password and without
 * its `password*` parameters, or, with `{ query: false }`, without any parameters. A string `new URL()`
 * refuses is redacted with {@link redactUrl} instead.
 *
 * @example
 * ```ts
 * describeUrl('mysql://app:hunter2@db:3306/app?charset=utf8mb4', { query: false }); // 'mysql://app@db:3306/app'
 * ```
 */
export function describeUrl(url: string, options: { readonly query?: boolean } = {}): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return redactUrl(url);
  }
  parsed.password = '';
  if (options.query === false) parsed.search = '';
  else for (const key of [...parsed.searchParams.keys()]) if (PASSWORD_KEY.test(key)) parsed.searchParams.delete(key);
  return parsed.toString();
}

/** The parts {@link describeEndpoint} names a server by. It has no password field, by design. */
export interface Endpoint {
  /** The URL scheme to show, without `://` (`'postgres'`, `'mysql'`, `'redis'`). */
  readonly scheme: string;
  /** The user name, when there is one. */
  readonly user?: string | undefined;
  /** The host name or address. */
  readonly host?: string | undefined;
  /** The port. */
  readonly port?: number | string | undefined;
  /** A Unix socket path; shown instead of `host:port` when given. */
  readonly socketPath?: string | undefined;
  /** The database name or number. */
  readonly database?: string | number | undefined;
}

/**
 * Names a server given by separate config fields as `scheme://user@host:port/database`, for a factory's
 * `toString()`, so the description never depends on remembering to leave the password out.
 *
 * @example
 * ```ts
 * describeEndpoint({ scheme: 'redis', host: '127.0.0.1', port: 6379, database: 0 }); // 'redis://127.0.0.1:6379/0'
 * ```
 */
export function describeEndpoint(endpoint: Endpoint): string {
  const { scheme, user, host, port, socketPath, database } = endpoint;
  const who = user === undefined || user === '' ? '' : `${user}@`;
  return `${scheme}://${who}${socketPath ?? `${host ?? ''}:${port ?? ''}`}/${database ?? ''}`;
}

/** What {@link parseConnectionUrl} accepts. */
export interface ConnectionUrlRules {
  /** The accepted schemes as a user writes them, the usual one first: `['postgres://', 'postgresql://', 'socket:']`. */
  readonly schemes: readonly string[];
  /** A well-formed example for the error message: `'postgres://user:password@host:5432/database'`. */
  readonly example: string;
}

/**
 * Checks a connection URL given as config field `field`: a non-empty string that `new URL()` parses and
 * that starts with one of `rules.schemes`. Otherwise throws `InvalidConfigError` naming the field and the
 * rule, with the password redacted from the value it shows. Returns the parsed URL.
 *
 * @example
 * ```ts
 * const url = parseConnectionUrl('url', config, { schemes: ['redis://', 'rediss://'], example: 'redis://user:password@host:6379/0' });
 * ```
 */
export function parseConnectionUrl(field: string, url: unknown, rules: ConnectionUrlRules): URL {
  if (typeof url !== 'string' || url.trim() === '') {
    throw new InvalidConfigError(field, url, `must be a non-empty ${rules.schemes[0] ?? ''} URL`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidConfigError(field, redactUrl(url), `is not a valid URL; expected ${rules.example}`);
  }
  if (!rules.schemes.some((scheme) => scheme.replace(/\/\/$/, '') === parsed.protocol)) {
    throw new InvalidConfigError(field, redactUrl(url), `must start with ${listChoices(rules.schemes)}`);
  }
  return parsed;
}
