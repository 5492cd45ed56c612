import { inspect } from 'node:util';

/** Replaces the password of a `redis://user:password@host/db` string (and a `password=` parameter) with `***`. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*):[^@/?#]*@/i, '$1:***@').replace(/([?&]password=)[^&#]*/gi, '$1***');
}

/**
 * Returns `error` unchanged unless it shows one of `secrets` anywhere — message, stack, or a property
 * such as ioredis's `command.args` of a failed `AUTH`/`HELLO` — then a new `Error` with each secret in
 * the message and stack replaced by `***`, keeping `name` and `code`, so a password never reaches a log.
 */
export function scrub(error: unknown, secrets: readonly string[]): unknown {
  if (secrets.length === 0 || !(error instanceof Error)) return error;
  const shown = inspect(error, { depth: 6 });
  const found = secrets.filter((s) => shown.includes(s));
  if (found.length === 0) return error;
  const hide = (text: string): string => found.reduce((t, s) => t.split(s).join('***'), text);
  const clean = new Error(hide(error.message));
  clean.name = error.name;
  clean.stack = hide(error.stack ?? '');
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) Object.assign(clean, { code });
  return clean;
}
