/** What a redacted value is replaced with. */
export const REDACTED = '[redacted]';

/**
 * Keys whose values are secrets, whatever they hold: passwords, tokens, keys, credentials. Matched
 * case-insensitively on the whole key, with `_` and `-` ignored (`db_password`, `apiKey`, `X-Api-Key`).
 */
const SECRET_KEY =
  /(?:pass(?:word|wd|phrase)?|pwd|secret|token|credentials?|api_?key|private_?key|auth(?:orization)?|cookie|session_?key|sasl|ssl_?key|cert(?:ificate)?_?key)$/i;

/**
 * Keys whose values are connection strings (a URL or DSN with a host and often a password). The
 * whole value is redacted: a connection string can carry a password in forms no pattern knows.
 */
const CONNECTION_KEY = /(?:connection_?string|conn_?str|dsn|uri|url|database_?url|connect_?string)$/i;

/** `scheme://user:password@` in any text. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:/?#@]*):([^\s@/?#]*)@/gi;
/** `password=...`, `pwd=...`, `token=...` as a query parameter or a `key=value` DSN field. */
const KEY_VALUE_SECRET = /\b((?:password|passwd|pwd|secret|token|api_?key|access_?key)\s*=\s*)('[^']*'|"[^"]*"|[^\s&;,'")]*)/gi;

/** Options of {@link redact} and {@link redactText}. */
export interface RedactOptions {
  /** Exact strings to replace wherever they appear (passwords you know, the management tokens). */
  secrets?: readonly string[];
  /** Deeper structures are cut at this depth (replaced by `'[truncated]'`). Default `8`. */
  maxDepth?: number;
}

function normalizeKey(key: string): string {
  return key.replace(/[-\s]/g, '_');
}

/** True when a property named `key` holds a secret (its value is always redacted). */
export function isSecretKey(key: string): boolean {
  const k = normalizeKey(key);
  return SECRET_KEY.test(k) || SECRET_KEY.test(k.replace(/_/g, ''));
}

/** True when a property named `key` holds a connection string (its value is always redacted). */
export function isConnectionKey(key: string): boolean {
  const k = normalizeKey(key);
  return CONNECTION_KEY.test(k) || CONNECTION_KEY.test(k.replace(/_/g, ''));
}

/**
 * Removes credentials from free text: the password of any `scheme://user:password@host` URL,
 * `password=...` / `pwd=...` / `token=...` fields of query strings and DSNs, and every string in
 * `options.secrets`. Used on every message and description the management API returns.
 *
 * @example
 * ```ts
 * redactText('connect ECONNREFUSED postgres://app:hunter2@db:5432/prod');
 * // 'connect ECONNREFUSED postgres://app:[redacted]@db:5432/prod'
 * ```
 */
export function redactText(text: string, options: RedactOptions = {}): string {
  let out = text.replace(URL_USERINFO, (_m, scheme: string, user: string) => `${scheme}${user}:${REDACTED}@`);
  out = out.replace(KEY_VALUE_SECRET, (_m, key: string) => `${key}${REDACTED}`);
  for (const secret of options.secrets ?? []) {
    if (secret.length > 0) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/**
 * Turns any value into plain JSON-safe data with every credential removed: values of secret keys
 * (`password`, `token`, `apiKey`...) and connection-string keys (`connectionString`, `url`, `dsn`...)
 * are replaced by `'[redacted]'`; every string is passed through {@link redactText}; errors become
 * `{ name, code, message }` (never a stack); functions, symbols and cycles are described, not kept;
 * `Map`, `Set`, `Date`, `bigint`, `NaN` and `Infinity` become their JSON equivalents.
 *
 * The management API runs every response body through it, so a value that reaches a response by a
 * path nobody foresaw (an acquire `context`, a custom factory's description) still cannot leak a
 * password.
 */
export function redact(value: unknown, options: RedactOptions = {}): unknown {
  const maxDepth = options.maxDepth ?? 8;
  const seen = new Set<object>();
  const walk = (v: unknown, depth: number): unknown => {
    switch (typeof v) {
      case 'string':
        return redactText(v, options);
      case 'number':
        return Number.isFinite(v) ? v : null;
      case 'boolean':
        return v;
      case 'bigint':
        return v.toString();
      case 'undefined':
        return null;
      case 'function':
        return `[function ${v.name || 'anonymous'}]`;
      case 'symbol':
        return v.toString();
    }
    if (v === null) return null;
    const obj = v as object;
    if (depth >= maxDepth) return '[truncated]';
    if (seen.has(obj)) return '[circular]';
    if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? null : obj.toISOString();
    if (obj instanceof Error) {
      const code = (obj as { code?: unknown }).code;
      return {
        name: obj.name,
        ...(typeof code === 'string' ? { code } : {}),
        message: redactText(obj.message, options),
      };
    }
    seen.add(obj);
    try {
      if (Array.isArray(obj)) return obj.map((item) => walk(item, depth + 1));
      if (obj instanceof Set) return [...obj].map((item) => walk(item, depth + 1));
      if (obj instanceof Map) {
        const out: Record<string, unknown> = {};
        for (const [k, item] of obj) out[String(k)] = field(String(k), item, depth);
        return out;
      }
      if (ArrayBuffer.isView(obj)) return `[${obj.constructor.name} ${obj.byteLength} bytes]`;
      const json = (obj as { toJSON?: unknown }).toJSON;
      if (typeof json === 'function') {
        const replaced = (json as () => unknown).call(obj);
        if (replaced !== obj) return walk(replaced, depth);
      }
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(obj)) out[k] = field(k, (obj as Record<string, unknown>)[k], depth);
      return out;
    } finally {
      seen.delete(obj);
    }
  };
  const field = (key: string, item: unknown, depth: number): unknown => {
    if (item !== null && item !== undefined && item !== '' && (isSecretKey(key) || isConnectionKey(key))) return REDACTED;
    return walk(item, depth + 1);
  };
  return walk(value, 0);
}
