import { CreateErrorKind } from '@pool/core';

/**
 * Server errors at connect that no retry fixes until someone changes the configuration or the
 * server's accounts: bad credentials or a missing account (`ER_ACCESS_DENIED_ERROR` 1045,
 * `ER_DBACCESS_DENIED_ERROR` 1044, `ER_ACCESS_DENIED_NO_PASSWORD_ERROR` 1698), a missing database
 * (`ER_BAD_DB_ERROR` 1049), a host the server does not accept or has blocked (`ER_HOST_NOT_PRIVILEGED`
 * 1130, `ER_HOST_IS_BLOCKED` 1129), an authentication method the client cannot do
 * (`ER_NOT_SUPPORTED_AUTH_MODE` 1251), an account that must change its password or is locked (1862,
 * 3118, MariaDB's 4151), and a server that requires TLS the client does not use (`ER_SECURE_TRANSPORT_REQUIRED` 3159).
 */
const FATAL_ERRNOS: ReadonlySet<number> = new Set([1044, 1045, 1049, 1129, 1130, 1251, 1698, 1862, 3118, 3159, 4151]);

/**
 * Client-side codes that say the configuration is wrong: TLS the server does not offer or a
 * certificate that does not verify (Node's TLS codes), an authentication plugin mysql2 cannot run.
 */
const FATAL_CODES: ReadonlySet<string> = new Set([
  'HANDSHAKE_NO_SSL_SUPPORT',
  'AUTH_SWITCH_PLUGIN_ERROR',
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

/**
 * Whether a mysql2 connect error can be fixed by retrying (see `ConnectionFactory.classifyCreateError`).
 * Fatal: the errors above. Everything else is transient: refused or reset connections, timeouts,
 * `Too many connections` (`ER_CON_COUNT_ERROR` 1040, `ER_TOO_MANY_USER_CONNECTIONS` 1203), a server
 * starting or shutting down (1053, 1077), DNS failures, and errors this list does not know.
 */
export function classifyMysqlCreateError(error: unknown): CreateErrorKind {
  if (typeof error !== 'object' || error === null) return CreateErrorKind.Transient;
  const { errno, code } = error as { errno?: unknown; code?: unknown };
  if (typeof errno === 'number' && FATAL_ERRNOS.has(errno)) return CreateErrorKind.Fatal;
  if (typeof code === 'string' && FATAL_CODES.has(code)) return CreateErrorKind.Fatal;
  return CreateErrorKind.Transient;
}
