import { CreateErrorKind } from '@pool/core';

/**
 * SQLSTATEs a PostgreSQL server answers a connect with that no retry fixes until someone changes the
 * configuration or the server's roles: `28P01` wrong password, `28000` no `pg_hba.conf` entry or an
 * unknown role, `3D000` unknown database, `42501` no `CONNECT` privilege on the database, `08004` the
 * server rejected the connection (`pg_hba.conf` `reject`, a role that may not log in).
 */
const FATAL_SQLSTATES: ReadonlySet<string> = new Set(['28P01', '28000', '3D000', '42501', '08004']);

/** Node's TLS codes for a certificate that does not verify, or a protocol the two ends do not share. */
const FATAL_TLS_CODES: ReadonlySet<string> = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_NO_PROTOCOLS_AVAILABLE',
  'ERR_SSL_UNSUPPORTED_PROTOCOL',
  'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
]);

/** pg's own errors for a TLS setting the server cannot honour (they carry no code). */
const FATAL_MESSAGES = /^The server does not support SSL connections$|^SASL: |password must be a string|client password must be a string/;

/**
 * Whether a `pg` connect error can be fixed by retrying (see `ConnectionFactory.classifyCreateError`).
 * Fatal: the SQLSTATEs above (bad credentials, unknown role or database, no right to connect), a TLS
 * certificate that does not verify, TLS the server does not offer, a password pg cannot send.
 * Transient: everything else — refused or reset connections, timeouts, `53300` too many connections,
 * `57P03` the server is starting or shutting down, DNS failures, and errors this list does not know.
 */
export function classifyPgCreateError(error: unknown): CreateErrorKind {
  if (typeof error !== 'object' || error === null) return CreateErrorKind.Transient;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (FATAL_SQLSTATES.has(code) || FATAL_TLS_CODES.has(code))) return CreateErrorKind.Fatal;
  if (typeof message === 'string' && FATAL_MESSAGES.test(message)) return CreateErrorKind.Fatal;
  return CreateErrorKind.Transient;
}
