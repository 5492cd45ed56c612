import { InvalidConfigError } from '@pool/core';
import type { PoolMonitorOptions } from '@pool/monitoring';
import type { AuthOptions } from './auth.js';
import type { HistoryOptions } from './history.js';
import type { PrometheusSource } from './metrics.js';
import type { PoolsOption } from './pools.js';
import type { AuthFailureLimitOptions } from './security.js';

const OPTION_KEYS = [
  'pools',
  'auth',
  'basePath',
  'cors',
  'maxBodyBytes',
  'monitor',
  'prometheus',
  'dashboard',
  'secrets',
  'onError',
  'allowedHosts',
  'authFailureLimit',
  'history',
];

/** Cross-origin access, off unless configured. */
export interface CorsOptions {
  /** Origins allowed to call the API from a browser, exactly as browsers send them (`https://ops.example.com`). */
  origins: readonly string[];
  /** How long browsers may cache a preflight answer, in seconds. Default `600`. */
  maxAgeSeconds?: number;
}

/** Options of {@link createManagementApp}. */
export interface ManagementAppOptions {
  /** The pools to manage: a record of named pools or entries, or a list (named by `name` or `pool.name`). */
  pools: PoolsOption;
  /**
   * Bearer tokens (`{ readToken, adminToken }`), or `false` to switch authentication off (then only
   * loopback clients are answered). Required: there is no unauthenticated default.
   */
  auth: AuthOptions;
  /** The path the app is served under, e.g. `'/admin'` (every route is prefixed). Default `''`. */
  basePath?: string;
  /** Browser access from other origins. Default: none (no CORS headers are sent). */
  cors?: CorsOptions | null;
  /** The largest request body accepted, in bytes; larger ones get 413. Default `16384`. */
  maxBodyBytes?: number;
  /**
   * A `PoolMonitor` is created for each pool given without one, so wait percentiles and throughput
   * are available. `false` switches that off; an object gives the monitors' options. Default
   * `{ windowMs: 60000, windowSlots: 12 }` (a one-minute window moving every 5 s).
   */
  monitor?: boolean | PoolMonitorOptions;
  /**
   * Prometheus text at `/metrics`: a source (`PrometheusCollector`, prom-client `Registry`), `true` to
   * have the app create `@pool/prometheus` collectors on private registries (loaded on first scrape;
   * needs `@pool/prometheus` and `prom-client` installed), or `false`. Default: served when every
   * monitor already has a collector, otherwise JSON and CSV only.
   */
  prometheus?: boolean | PrometheusSource | null;
  /** The web dashboard at `/dashboard`: `false` to leave it out, or its refresh interval. Default `{ refreshMs: 2000 }`. */
  dashboard?: boolean | { refreshMs?: number };
  /** More strings to redact from every response (passwords the app knows). The auth tokens always are. */
  secrets?: readonly string[];
  /** Called with unexpected errors (never with bad input). Default: a process warning (`POOL_MANAGEMENT_ERROR`). */
  onError?: (error: unknown) => void;
  /**
   * The host names requests may be addressed to (the `Host` header), against DNS rebinding. The
   * loopback names (`localhost`, `*.localhost`, `127.0.0.0/8`, `[::1]`) are always allowed; add the
   * names clients use to reach the app (`'ops.example.com'`, `'10.0.0.5'`, or `'.example.com'` for a
   * domain and its subdomains). `'any'` switches the check off (only with tokens). Default: loopback only
   * (`serveManagement` adds the address it listens on).
   */
  allowedHosts?: readonly string[] | 'any';
  /**
   * The per-client limit on failed authentications (a wrong or malformed token): `maxFailures` per
   * `windowMs`, then 429 until the window ends; clients are kept in an LRU table of `maxClients`
   * entries. `false` switches it off. Default `{ maxFailures: 10, windowMs: 60000, maxClients: 10000 }`.
   */
  authFailureLimit?: AuthFailureLimitOptions | false;
  /**
   * The history the dashboard's charts are drawn from, kept by the server (so a page opened later still
   * shows the last minutes) in constant memory. Default `{ windowMs: 900000, intervalMs: 5000 }`.
   */
  history?: HistoryOptions;
}

/** Checks the options of {@link createManagementApp}; throws `InvalidConfigError` naming the option and the rule. */
export function checkOptions(options: unknown): ManagementAppOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidConfigError('options', options, 'must be { pools, auth, ... }');
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!OPTION_KEYS.includes(key))
      throw new InvalidConfigError(key, '[value]', `is not a management option; known: ${OPTION_KEYS.join(', ')}`);
  }
  if (!('auth' in o) || o.auth === undefined) {
    throw new InvalidConfigError(
      'auth',
      undefined,
      "is required: give { readToken, adminToken } (at least 16 characters each, e.g. crypto.randomBytes(32).toString('base64url')), or false to switch authentication off for loopback-only use",
    );
  }
  if (o.basePath !== undefined && (typeof o.basePath !== 'string' || !/^(\/[A-Za-z0-9._~-]+)*$/.test(o.basePath))) {
    throw new InvalidConfigError('basePath', o.basePath, "must be '' or a path such as '/admin' (no trailing slash)");
  }
  if (
    o.maxBodyBytes !== undefined &&
    (typeof o.maxBodyBytes !== 'number' || !Number.isInteger(o.maxBodyBytes) || o.maxBodyBytes < 64 || o.maxBodyBytes > 1_048_576)
  ) {
    throw new InvalidConfigError('maxBodyBytes', o.maxBodyBytes, 'must be an integer between 64 and 1048576');
  }
  if (o.cors != null) {
    const c = o.cors as Record<string, unknown>;
    if (typeof c !== 'object' || !Array.isArray(c.origins) || c.origins.length === 0) {
      throw new InvalidConfigError('cors.origins', c.origins, 'must be a non-empty array of origins such as https://ops.example.com');
    }
    for (const [i, origin] of (c.origins as unknown[]).entries()) {
      if (typeof origin !== 'string' || !/^https?:\/\/[^/\s]+$/.test(origin)) {
        throw new InvalidConfigError(
          `cors.origins[${i}]`,
          origin,
          "must be an origin such as 'https://ops.example.com' (scheme and host, no path, no '*')",
        );
      }
    }
    if (
      c.maxAgeSeconds !== undefined &&
      (typeof c.maxAgeSeconds !== 'number' || !Number.isInteger(c.maxAgeSeconds) || c.maxAgeSeconds < 0 || c.maxAgeSeconds > 86_400)
    ) {
      throw new InvalidConfigError('cors.maxAgeSeconds', c.maxAgeSeconds, 'must be an integer between 0 and 86400');
    }
  }
  if (o.monitor !== undefined && typeof o.monitor !== 'boolean' && (typeof o.monitor !== 'object' || o.monitor === null)) {
    throw new InvalidConfigError('monitor', o.monitor, 'must be true, false or PoolMonitor options');
  }
  const p = o.prometheus;
  if (p != null && typeof p !== 'boolean' && (typeof p !== 'object' || typeof (p as PrometheusSource).metrics !== 'function')) {
    throw new InvalidConfigError(
      'prometheus',
      p,
      'must be true, false, or a source with metrics() and contentType (a PrometheusCollector or prom-client Registry)',
    );
  }
  const d = o.dashboard;
  if (d !== undefined && typeof d !== 'boolean') {
    const refresh = (d as { refreshMs?: unknown } | null)?.refreshMs;
    if (
      typeof d !== 'object' ||
      d === null ||
      Object.keys(d).some((k) => k !== 'refreshMs') ||
      (refresh !== undefined && (typeof refresh !== 'number' || !Number.isInteger(refresh) || refresh < 250 || refresh > 3_600_000))
    ) {
      throw new InvalidConfigError(
        'dashboard',
        d,
        'must be true, false or { refreshMs } with refreshMs an integer between 250 and 3600000',
      );
    }
  }
  if (o.secrets !== undefined && (!Array.isArray(o.secrets) || o.secrets.some((s) => typeof s !== 'string'))) {
    throw new InvalidConfigError('secrets', '[value]', 'must be an array of strings');
  }
  if (o.onError !== undefined && typeof o.onError !== 'function') throw new InvalidConfigError('onError', o.onError, 'must be a function');
  if (o.allowedHosts !== undefined && o.allowedHosts !== 'any' && !Array.isArray(o.allowedHosts)) {
    throw new InvalidConfigError('allowedHosts', o.allowedHosts, "must be an array of host names, or 'any'");
  }
  if (o.allowedHosts === 'any' && o.auth === false) {
    throw new InvalidConfigError('allowedHosts', 'any', 'needs authentication: without tokens the Host check is what stops DNS rebinding');
  }
  if (o.authFailureLimit !== undefined && o.authFailureLimit !== false) {
    const l = o.authFailureLimit;
    if (typeof l !== 'object' || l === null)
      throw new InvalidConfigError('authFailureLimit', l, 'must be { maxFailures?, windowMs?, maxClients? } or false');
    for (const key of Object.keys(l)) {
      if (!['maxFailures', 'windowMs', 'maxClients'].includes(key)) {
        throw new InvalidConfigError(`authFailureLimit.${key}`, '[value]', 'is not an option; known: maxFailures, windowMs, maxClients');
      }
    }
  }
  return options as ManagementAppOptions;
}
