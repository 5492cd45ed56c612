/** Fields of a driver error that callers branch on; a scrubbed copy keeps them. */
const KEPT_FIELDS = ['code', 'errno', 'sqlState', 'fatal'] as const;
/** How deep {@link scrubSecrets} looks into an error's properties (ioredis keeps `AUTH` arguments at depth 2). */
const SEARCH_DEPTH = 6;

/**
 * The passwords a connection config holds, to give to {@link scrubSecrets}: every non-empty string among
 * `passwords`, plus, when `url` is a URL, its password (as written and percent-decoded) and the values of
 * its `password`, `password1`... parameters. Without duplicates.
 *
 * @example
 * ```ts
 * const secrets = collectSecrets([config.password], config.connectionString);
 * ```
 */
export function collectSecrets(passwords: readonly unknown[], url?: unknown): string[] {
  const out = new Set<string>();
  for (const p of passwords) if (typeof p === 'string' && p !== '') out.add(p);
  if (typeof url === 'string') {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined; // not a URL: nothing to read from it
    }
    if (parsed !== undefined) {
      if (parsed.password !== '') {
        out.add(parsed.password);
        try {
          out.add(decodeURIComponent(parsed.password));
        } catch {
          // a malformed escape: the password as written is all there is
        }
      }
      for (const [key, value] of parsed.searchParams) if (/^password\d?$/i.test(key) && value !== '') out.add(value);
    }
  }
  return [...out];
}

/** Collects the strings an error shows: message, stack, cause, and its own properties, to `depth`. */
function stringsOf(value: unknown, depth: number, seen: Set<object>, out: string[]): void {
  if (typeof value === 'string') {
    out.push(value);
    return;
  }
  if (typeof value !== 'object' || value === null || depth < 0 || seen.has(value) || ArrayBuffer.isView(value)) return;
  seen.add(value);
  const keys = new Set(Object.keys(value));
  if (value instanceof Error) for (const key of ['message', 'stack', 'cause', 'errors']) keys.add(key);
  for (const key of keys) {
    let field: unknown;
    try {
      field = (value as Record<string, unknown>)[key];
    } catch {
      continue; // a throwing getter shows nothing
    }
    stringsOf(field, depth - 1, seen, out);
  }
}

/**
 * Keeps a password out of logs: returns `error` unchanged unless one of `secrets` shows in it — in its
 * message, its stack, its `cause`, or any of its own properties (ioredis keeps the arguments of a failed
 * `AUTH` on the error) — and then a new `Error` whose message and stack show `***` instead, with the same
 * `name` and the fields callers branch on (`code`, `errno`, `sqlState`, `fatal`). Non-errors are returned
 * as they are.
 *
 * Call it on every error a factory lets out of `create()` and `reset()`.
 *
 * @example
 * ```ts
 * } catch (error) {
 *   throw scrubSecrets(error, this.#secrets);
 * }
 * ```
 */
export function scrubSecrets(error: unknown, secrets: readonly string[]): unknown {
  if (!(error instanceof Error)) return error;
  const candidates = secrets.filter((s) => typeof s === 'string' && s !== '');
  if (candidates.length === 0) return error;
  const shown: string[] = [];
  stringsOf(error, SEARCH_DEPTH, new Set(), shown);
  // Longest first, so a secret that contains another is replaced whole.
  const found = candidates.filter((s) => shown.some((text) => text.includes(s))).sort((a, b) => b.length - a.length);
  if (found.length === 0) return error;
  const hide = (text: string): string => found.reduce((t, s) => t.split(s).join('***'), text);
  const clean = new Error(hide(error.message));
  clean.name = error.name;
  clean.stack = hide(error.stack ?? '');
  for (const key of KEPT_FIELDS) {
    const value = (error as unknown as Record<string, unknown>)[key];
    if (value !== undefined) Object.assign(clean, { [key]: typeof value === 'string' ? hide(value) : value });
  }
  return clean;
}
