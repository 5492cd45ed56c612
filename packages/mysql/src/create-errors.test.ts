import { CreateErrorKind } from '@pool/core';
import { describe, expect, it } from 'vitest';
import { classifyMysqlCreateError } from './create-errors.js';

describe('classifyMysqlCreateError', () => {
  it('calls fatal what no retry fixes: credentials, accounts, databases, refused hosts, TLS', () => {
    for (const error of [
      { errno: 1045, code: 'ER_ACCESS_DENIED_ERROR' },
      { errno: 1044, code: 'ER_DBACCESS_DENIED_ERROR' },
      { errno: 1049, code: 'ER_BAD_DB_ERROR' },
      { errno: 1130, code: 'ER_HOST_NOT_PRIVILEGED' },
      { errno: 3159, code: 'ER_SECURE_TRANSPORT_REQUIRED' },
      { code: 'HANDSHAKE_NO_SSL_SUPPORT' },
      { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' },
      { code: 'ERR_TLS_CERT_ALTNAME_INVALID' },
    ]) {
      expect([error, classifyMysqlCreateError(Object.assign(new Error('x'), error))]).toEqual([error, CreateErrorKind.Fatal]);
    }
  });

  it('calls transient what a retry may fix, and anything unknown', () => {
    for (const error of [
      { code: 'ECONNREFUSED' },
      { code: 'ETIMEDOUT' },
      { code: 'ECONNRESET' },
      { code: 'PROTOCOL_CONNECTION_LOST' },
      { code: 'ENOTFOUND' },
      { errno: 1040, code: 'ER_CON_COUNT_ERROR' },
      { errno: 1203, code: 'ER_TOO_MANY_USER_CONNECTIONS' },
      { errno: 1053, code: 'ER_SERVER_SHUTDOWN' },
      {},
    ]) {
      expect([error, classifyMysqlCreateError(Object.assign(new Error('x'), error))]).toEqual([error, CreateErrorKind.Transient]);
    }
    expect(classifyMysqlCreateError('a string')).toBe(CreateErrorKind.Transient);
    expect(classifyMysqlCreateError(null)).toBe(CreateErrorKind.Transient);
  });
});
