/** Replaces the password of a `mysql://user:password@host/db` string (and a `password=` parameter) with `***`. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*):[^@/?#]*@/i, '$1:***@').replace(/([?&]password\d?=)[^&#]*/gi, '$1***');
}

/**
 * Returns `error` unchanged unless its message or stack shows one of `secrets`; then a new `Error` with
 * each secret replaced by `***` (keeping `name`, `code`, `errno`, `sqlState`), so a password never reaches a log.
 */
export function scrub(error: unknown, secrets: readonly string[]): unknown {
  if (secrets.length === 0 || !(error instanceof Error)) return error;
  const { message, stack } = error;
  const shown = secrets.filter((s) => message.includes(s) || (stack ?? '').includes(s));
  if (shown.length === 0) return error;
  const hide = (text: string): string => shown.reduce((t, s) => t.split(s).join('***'), text);
  const clean = new Error(hide(message));
  clean.name = error.name;
  clean.stack = hide(stack ?? '');
  for (const key of ['code', 'errno', 'sqlState', 'fatal'] as const) {
    const value = (error as unknown as Record<string, unknown>)[key];
    if (value !== undefined) Object.assign(clean, { [key]: value });
  }
  return clean;
}
