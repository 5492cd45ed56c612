import { PoolError } from '@pool/core';

/** The HTTP statuses the management API answers errors with. */
export type ManagementErrorStatus = 400 | 401 | 403 | 404 | 405 | 406 | 409 | 413 | 415 | 429 | 500 | 503;

const CODES: Record<ManagementErrorStatus, string> = {
  400: 'ERR_POOL_MANAGEMENT_BAD_REQUEST',
  401: 'ERR_POOL_MANAGEMENT_UNAUTHORIZED',
  403: 'ERR_POOL_MANAGEMENT_FORBIDDEN',
  404: 'ERR_POOL_MANAGEMENT_NOT_FOUND',
  405: 'ERR_POOL_MANAGEMENT_METHOD_NOT_ALLOWED',
  406: 'ERR_POOL_MANAGEMENT_NOT_ACCEPTABLE',
  409: 'ERR_POOL_MANAGEMENT_CONFLICT',
  413: 'ERR_POOL_MANAGEMENT_PAYLOAD_TOO_LARGE',
  415: 'ERR_POOL_MANAGEMENT_UNSUPPORTED_MEDIA_TYPE',
  429: 'ERR_POOL_MANAGEMENT_TOO_MANY_FAILED_AUTHENTICATIONS',
  500: 'ERR_POOL_MANAGEMENT_INTERNAL',
  503: 'ERR_POOL_MANAGEMENT_UNAVAILABLE',
};

/** The JSON body of every error response: `{ "error": { status, code, message, field? } }`. */
export interface ManagementErrorBody {
  error: {
    status: number;
    /** A stable code (`ERR_POOL_MANAGEMENT_NOT_FOUND`, or the pool's own, such as `ERR_POOL_INVALID_CONFIG`). */
    code: string;
    /** What was wrong, in words, naming the value and the rule. Never a stack trace, never a credential. */
    message: string;
    /** The parameter, query key or body field at fault, when there is one (`body.maxSize`, `query.format`). */
    field?: string;
  };
}

/**
 * A request the management API refuses: carries the HTTP status, a stable `code` and, for bad input,
 * the `field` at fault. Thrown by the request handlers and turned into a {@link ManagementErrorBody}.
 */
export class ManagementError extends PoolError {
  /** The HTTP status of the response. */
  readonly status: ManagementErrorStatus;
  /** The parameter, query key or body field at fault, if any. */
  readonly field: string | undefined;
  /** Extra response headers (`Allow` for 405, `WWW-Authenticate` for 401). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: ManagementErrorStatus,
    message: string,
    options: { field?: string; code?: string; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(options.code ?? CODES[status], message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ManagementError';
    this.status = status;
    this.field = options.field;
    this.headers = options.headers ?? {};
  }

  /** The response body. */
  toBody(): ManagementErrorBody {
    return {
      error: { status: this.status, code: this.code, message: this.message, ...(this.field === undefined ? {} : { field: this.field }) },
    };
  }
}
