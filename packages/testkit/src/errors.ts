/**
 * What a simulated "server" or an injected fault throws. These stand for driver errors (a refused
 * connection, a failed query), so they are plain `Error`s with a stable `code`, not `PoolError`s: an
 * adapter under test must treat them exactly as it treats its driver's errors.
 */

/** A simulated connection could not be opened, or broke (killed, closed, server limit). */
export class SimulatedConnectionError extends Error {
  /** `'ECONNREFUSED'` (connect failed), `'ETOOMANY'` (server limit), `'ECONNRESET'` (killed), `'ECLOSED'` (used after close). */
  readonly code: 'ECONNREFUSED' | 'ETOOMANY' | 'ECONNRESET' | 'ECLOSED';

  constructor(code: SimulatedConnectionError['code'], message: string) {
    super(message);
    this.name = 'SimulatedConnectionError';
    this.code = code;
  }
}

/** A simulated query failed (its `queryFailureRate` came up); the connection stays usable. */
export class SimulatedQueryError extends Error {
  readonly code = 'ESIMULATED_QUERY';
  /** The query that failed. */
  readonly sql: string;

  constructor(sql: string) {
    super(`Simulated query failure: ${sql.length > 60 ? `${sql.slice(0, 57)}...` : sql}`);
    this.name = 'SimulatedQueryError';
    this.sql = sql;
  }
}

/** A failure injected by {@link withFaults} (on demand or by probability). */
export class InjectedFaultError extends Error {
  readonly code = 'EINJECTED_FAULT';
  /** The factory operation that was made to fail. */
  readonly operation: 'create' | 'validate' | 'reset' | 'close';

  constructor(operation: InjectedFaultError['operation']) {
    super(`Injected fault: ${operation}() failed`);
    this.name = 'InjectedFaultError';
    this.operation = operation;
  }
}
