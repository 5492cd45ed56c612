/** Replaces the password of a `postgres://user:password@host/db` string with `***`. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*):[^@/?#]*@/i, '$1:***@').replace(/([?&]password=)[^&#]*/i, '$1***');
}

/**
 * Returns `error` unchanged unless its message or stack shows `secret`; then a new `Error` with the
 * secret replaced by `***` (keeping `name` and `code`), so a password never reaches a log.
 */
export function scrub(error: unknown, secret: string | undefined): unknown {
  if (secret === undefined || secret.length === 0 || !(error instanceof Error)) return error;
  const { message, stack } = error;
  if (!message.includes(secret) && !(stack ?? '').includes(secret)) return error;
  const clean = new Error(message.split(secret).join('***'));
  clean.name = error.name;
  clean.stack = (stack ?? '').split(secret).join('***');
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) Object.assign(clean, { code });
  return clean;
}
