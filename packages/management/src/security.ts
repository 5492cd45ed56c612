/**
 * The request checks that run before any route: where the request is addressed to (the Host
 * allow-list, against DNS rebinding), where it comes from (loopback only without tokens, failing closed
 * when the transport cannot tell), who sent it (cross-site requests may not change anything), and the
 * bearer token, with a per-client limit on failed attempts.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { InvalidConfigError } from '@pool/core';
import { LRUCache } from 'lru-cache';
import { type Access, bearerToken, isLoopbackHost, type TokenAuthenticator } from './auth.js';
import { ManagementError } from './errors.js';

/**
 * What the transport knows about a request, passed as hono's `env` (the second argument of
 * `app.fetch`). `@hono/node-server` (`serveManagement`, `app.handler`) passes `incoming`, the Node
 * request with its socket. A server that calls `app.fetch` itself tells where the request came from
 * with `remoteAddress` (the client's IP address); without either, the app cannot tell, so with
 * authentication off it refuses the request, and with tokens every such client shares one
 * failed-authentication budget.
 */
export interface ManagementEnv {
  incoming?: IncomingMessage;
  /** The client's IP address, as the server calling `app.fetch` saw it (`'127.0.0.1'` for a local client). */
  remoteAddress?: string;
}

/** Where the request came from, or `null` when the transport did not say. */
export function clientAddress(env: ManagementEnv | undefined): string | null {
  if (typeof env?.remoteAddress === 'string' && env.remoteAddress !== '') return env.remoteAddress;
  const socketAddress = env?.incoming?.socket?.remoteAddress;
  return typeof socketAddress === 'string' && socketAddress !== '' ? socketAddress : null;
}

// ---------------------------------------------------------------------------------------- hosts

/** The host name of a `Host` header value (`[::1]:9470` → `::1`, `Example.COM.` → `example.com`), or `null`. */
export function hostName(host: string): string | null {
  const h = host.trim().toLowerCase();
  if (h === '') return null;
  let name: string;
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) return null;
    name = h.slice(1, end);
    const rest = h.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return null;
  } else {
    const colon = h.lastIndexOf(':');
    name = colon >= 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
    if (colon >= 0 && h.indexOf(':') === colon && !/^\d{1,5}$/.test(h.slice(colon + 1))) return null;
  }
  name = name.replace(/\.$/, '');
  return name === '' ? null : name;
}

/**
 * The hosts the app answers for (`Host` header), against DNS rebinding: a page on `evil.example` whose
 * name is made to resolve to 127.0.0.1 reaches the app with `Host: evil.example`, and is refused. By
 * default the loopback names only (`localhost`, `*.localhost`, `127.0.0.0/8`, `[::1]`); more are
 * given as exact names or addresses, or `.example.com` for that domain and its subdomains.
 */
export class HostAllowList {
  readonly #exact = new Set<string>();
  readonly #suffixes: string[] = [];
  readonly any: boolean;

  constructor(hosts: readonly string[] | 'any', field = 'allowedHosts') {
    this.any = hosts === 'any';
    if (hosts === 'any') return;
    for (const [i, host] of hosts.entries()) {
      const name = typeof host === 'string' ? hostName(host.startsWith('.') ? host.slice(1) : host) : null;
      if (name === null || name.includes('*') || /[\s/]/.test(name)) {
        throw new InvalidConfigError(
          `${field}[${i}]`,
          host,
          "must be a host name or address ('ops.example.com', '10.0.0.5', '::1'), or '.example.com' for a domain and its subdomains",
        );
      }
      if (host.startsWith('.')) this.#suffixes.push(name);
      else this.#exact.add(name);
    }
  }

  /** Adds a host the server listens on (its own address is always a fine name for it). */
  add(host: string): void {
    const name = hostName(host.includes(':') && !host.startsWith('[') && isIP(host) === 6 ? `[${host}]` : host);
    if (name !== null) this.#exact.add(name);
  }

  /** Whether a request addressed to `host` (a `Host` header value) is answered. */
  allows(host: string): boolean {
    if (this.any) return true;
    const name = hostName(host);
    if (name === null) return false;
    if (isLoopbackHost(name) || this.#exact.has(name)) return true;
    return this.#suffixes.some((s) => name === s || name.endsWith(`.${s}`));
  }
}

// ---------------------------------------------------------------------------------------- origin

/**
 * Refuses a state-changing request a browser sent from another site (CSRF): `Sec-Fetch-Site` other
 * than `same-origin` or `none`, or an `Origin` whose host is not the one the request is addressed to,
 * unless that origin is configured for CORS. Requests without either header (curl, scripts, servers)
 * are not browser-made and pass to the token check.
 */
export function checkOrigin(headers: Headers, host: string, corsOrigins: ReadonlySet<string>): void {
  const origin = headers.get('origin');
  const site = headers.get('sec-fetch-site');
  if (origin !== null && corsOrigins.has(origin)) return;
  if (site !== null && site !== 'same-origin' && site !== 'none') {
    throw new ManagementError(
      403,
      `A ${site} request may not change anything (Sec-Fetch-Site: ${site}); operator actions come from the dashboard's own origin, a configured CORS origin, or a non-browser client`,
      { field: 'header.sec-fetch-site' },
    );
  }
  if (origin === null) return;
  let originHost: string | null = null;
  try {
    originHost = origin === 'null' ? null : new URL(origin).host.toLowerCase();
  } catch {
    originHost = null;
  }
  if (originHost === null || originHost !== host.trim().toLowerCase()) {
    throw new ManagementError(
      403,
      `Origin ${JSON.stringify(origin)} may not change anything here: only the app's own origin${corsOrigins.size > 0 ? ' and the configured CORS origins' : ''} may`,
      { field: 'header.origin' },
    );
  }
}

// ---------------------------------------------------------------------------------------- failed authentication

/** Options of the per-client limit on failed authentication. */
export interface AuthFailureLimitOptions {
  /** Failed attempts a client may make per window; the next ones get 429 until the window ends. Default `10`. */
  maxFailures?: number;
  /** The window, in ms. Default `60000`. */
  windowMs?: number;
  /** Clients remembered at most (least recently seen forgotten first), so memory stays bounded. Default `10000`. */
  maxClients?: number;
}

interface Tally {
  failures: number;
  resetAt: number;
}

/**
 * Counts failed authentications per client (its IP address; an IPv6 client by its /64, which one host
 * usually holds whole) in a fixed window, in an LRU table of bounded size. A client over the limit gets
 * 429 with `Retry-After`, even with a right token, until its window ends: guessing is slowed to
 * `maxFailures` per `windowMs`. Clients whose address the transport does not give share one entry.
 */
export class AuthFailureLimiter {
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly #table: LRUCache<string, Tally>;

  constructor(options: AuthFailureLimitOptions = {}) {
    const { maxFailures = 10, windowMs = 60_000, maxClients = 10_000 } = options;
    for (const [field, value, min, max] of [
      ['authFailureLimit.maxFailures', maxFailures, 1, 1_000_000],
      ['authFailureLimit.windowMs', windowMs, 1_000, 86_400_000],
      ['authFailureLimit.maxClients', maxClients, 1, 10_000_000],
    ] as const) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        throw new InvalidConfigError(field, value, `must be an integer between ${min} and ${max}`);
      }
    }
    this.maxFailures = maxFailures;
    this.windowMs = windowMs;
    this.#table = new LRUCache<string, Tally>({ max: maxClients });
  }

  /** The table key of a client address. */
  static keyOf(address: string | null): string {
    if (address === null) return 'unknown';
    const a = address.toLowerCase().replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
    if (isIP(a) !== 6) return a;
    const groups = expandIPv6(a);
    return groups === null ? a : `${groups.slice(0, 4).join(':')}::/64`;
  }

  /** Milliseconds until `key` may try again, or 0. */
  retryAfterMs(key: string, now: number): number {
    const tally = this.#table.get(key);
    if (tally === undefined || now >= tally.resetAt) return 0;
    return tally.failures >= this.maxFailures ? tally.resetAt - now : 0;
  }

  /** Records a failed attempt. */
  fail(key: string, now: number): void {
    const tally = this.#table.get(key);
    if (tally === undefined || now >= tally.resetAt) this.#table.set(key, { failures: 1, resetAt: now + this.windowMs });
    else tally.failures++;
  }

  /** Clients in the table now (bounded by `maxClients`). */
  get size(): number {
    return this.#table.size;
  }
}

function expandIPv6(address: string): string[] | null {
  const [head, tail] = address.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  if (tail === undefined && left.length !== 8) return null;
  const zeros = Array.from({ length: 8 - left.length - right.length }, () => '0');
  return [...left, ...zeros, ...right].map((g) => g.replace(/^0+(?=.)/, ''));
}

// ---------------------------------------------------------------------------------------- the token

/** Checks the bearer token for `access`, counting failures per client. Throws 401, 403 or 429. */
export function authorize(
  auth: TokenAuthenticator,
  limiter: AuthFailureLimiter | null,
  header: string | undefined,
  access: Access,
  client: string | null,
  now: number,
): void {
  const key = AuthFailureLimiter.keyOf(client);
  if (limiter !== null) {
    const wait = limiter.retryAfterMs(key, now);
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      throw new ManagementError(
        429,
        `Too many failed authentications from this client (${limiter.maxFailures} in ${limiter.windowMs / 1000} s); try again in ${seconds} s`,
        { headers: { 'retry-after': String(seconds) } },
      );
    }
  }
  const token = bearerToken(header);
  if (token === null) {
    // No token at all is a client that has not signed in yet (the dashboard's first request), not a guess.
    if (header !== undefined) limiter?.fail(key, now);
    throw new ManagementError(
      401,
      header === undefined
        ? 'Authentication required: send Authorization: Bearer <token>'
        : 'Malformed Authorization header: expected Bearer <token>',
      { headers: { 'www-authenticate': 'Bearer realm="pool-management"' } },
    );
  }
  const granted = auth.check(token);
  if (granted === null) {
    limiter?.fail(key, now);
    throw new ManagementError(401, 'The token is not valid', {
      headers: { 'www-authenticate': 'Bearer realm="pool-management", error="invalid_token"' },
    });
  }
  if (access === 'admin' && granted !== 'admin') {
    throw new ManagementError(
      403,
      auth.hasAdmin
        ? 'This action needs the admin token; the read token only reads'
        : 'This API is read-only: no admin token is configured',
    );
  }
}

/** With authentication off: answers loopback clients only, and refuses when the transport cannot tell (fail closed). */
export function requireLoopback(client: string | null): void {
  if (client === null) {
    throw new ManagementError(
      403,
      "Authentication is switched off and this request's client address is unknown, so it is refused: run the app with serveManagement or app.handler, or pass the client's address as app.fetch(request, { remoteAddress }), or configure auth tokens",
    );
  }
  if (!isLoopbackHost(client)) {
    throw new ManagementError(
      403,
      'Authentication is switched off, so only loopback clients are answered; configure auth tokens to serve other hosts',
    );
  }
}
