import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { InvalidConfigError } from '@pool/core';

/**
 * Who may do what. `readToken` reads (every GET); `adminToken` reads and acts (resize, evict,
 * suspend, resume, drain). Give one or both; without `adminToken` the API is read-only. `false`
 * switches authentication off: the app then answers only loopback clients, and `serveManagement`
 * refuses to listen beyond loopback.
 */
export type AuthOptions =
  | {
      /** Bearer token for reading. At least 16 characters; several tokens may be given (rotation). */
      readToken?: string | readonly string[];
      /** Bearer token for reading and operator actions. At least 16 characters; several may be given. */
      adminToken?: string | readonly string[];
    }
  | false;

/** What a request may do. */
export type Access = 'read' | 'admin';

/** The minimum token length: shorter tokens can be guessed. */
export const MIN_TOKEN_LENGTH = 16;

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function tokensOf(field: string, value: unknown): Buffer[] {
  if (value === undefined) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list)) throw new InvalidConfigError(field, value, 'must be a string or an array of strings');
  return list.map((token, i) => {
    if (typeof token !== 'string' || token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
      throw new InvalidConfigError(
        Array.isArray(value) ? `${field}[${i}]` : field,
        typeof token === 'string' ? `[${token.length} characters]` : token,
        `must be a string of at least ${MIN_TOKEN_LENGTH} characters without spaces (use crypto.randomBytes(32).toString('base64url'))`,
      );
    }
    return digest(token);
  });
}

/**
 * Checks bearer tokens in constant time: the presented token and every configured one are hashed to
 * SHA-256 digests of equal length and compared with `crypto.timingSafeEqual`, all of them, without an
 * early exit, so neither a token's content nor its length leaks through the response time.
 */
export class TokenAuthenticator {
  readonly #read: Buffer[];
  readonly #admin: Buffer[];
  /** The configured tokens, to be redacted from every response. */
  readonly secrets: readonly string[];

  constructor(options: Exclude<AuthOptions, false>) {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      throw new InvalidConfigError('auth', options, 'must be { readToken?, adminToken? } or false');
    }
    for (const key of Object.keys(options)) {
      if (key !== 'readToken' && key !== 'adminToken') {
        throw new InvalidConfigError(`auth.${key}`, '[hidden]', 'is not an auth option; known: readToken, adminToken');
      }
    }
    this.#read = tokensOf('auth.readToken', options.readToken);
    this.#admin = tokensOf('auth.adminToken', options.adminToken);
    if (this.#read.length === 0 && this.#admin.length === 0) {
      throw new InvalidConfigError('auth', '{}', 'needs a readToken, an adminToken or both (or auth: false to switch authentication off)');
    }
    const list = (v: string | readonly string[] | undefined): string[] => (v === undefined ? [] : typeof v === 'string' ? [v] : [...v]);
    this.secrets = Object.freeze([...list(options.readToken), ...list(options.adminToken)]);
  }

  /** Whether an admin token is configured (otherwise the API is read-only). */
  get hasAdmin(): boolean {
    return this.#admin.length > 0;
  }

  /** The access a presented token grants, or `null` for none. */
  check(token: string): Access | null {
    const presented = digest(token);
    let admin = false;
    let read = false;
    for (const d of this.#admin) admin = timingSafeEqual(presented, d) || admin;
    for (const d of this.#read) read = timingSafeEqual(presented, d) || read;
    return admin ? 'admin' : read ? 'read' : null;
  }
}

/** The token of an `Authorization: Bearer <token>` header, or `null` when there is none or it is malformed. */
export function bearerToken(header: string | undefined | null): string | null {
  if (typeof header !== 'string') return null;
  const match = /^Bearer[ ]+([^\s]+)[ ]*$/i.exec(header);
  return match === null ? null : (match[1] as string);
}

/** True when `host` names the loopback interface (`127.0.0.0/8`, `::1`, `localhost`). */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}
