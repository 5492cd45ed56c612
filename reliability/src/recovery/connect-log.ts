import pg from 'pg';

/** One connect attempt seen from the client side: when it started and ended (monotonic ms), and whether it failed. */
export interface ConnectAttempt {
  readonly startedAt: number;
  /** How many attempts were in flight when this one started, itself included. */
  readonly inFlightAtStart: number;
  endedAt: number | undefined;
  failed: boolean | undefined;
}

/**
 * Records every connect attempt a `pg.Client` makes: give {@link ConnectLog.Client} to the pool
 * (`pg.Pool` and `createPgPool` both take a `Client` option). It counts from the client side, so the
 * same figure is measured the same way for every pool, whatever its events say.
 */
export class ConnectLog {
  readonly attempts: ConnectAttempt[] = [];
  #inFlight = 0;

  /** A `pg.Client` subclass that records its `connect()` calls here (callback and promise forms). */
  readonly Client: typeof pg.Client;

  constructor(Base: typeof pg.Client = pg.Client) {
    const log = this;
    class CountingClient extends Base {}
    const connect = Base.prototype.connect as (
      this: pg.Client,
      callback?: (err: Error | null, client?: pg.Client) => void,
    ) => Promise<unknown> | undefined;
    // pg.Pool calls connect(callback), @pool's factory connect(): both are recorded.
    Object.defineProperty(CountingClient.prototype, 'connect', {
      configurable: true,
      writable: true,
      value: function countingConnect(this: pg.Client, callback?: (err: Error | null, client?: pg.Client) => void): unknown {
        const attempt = log.#begin();
        if (typeof callback === 'function') {
          return connect.call(this, (err, client) => {
            log.#end(attempt, err != null);
            callback(err, client);
          });
        }
        return (connect.call(this) as Promise<unknown>).then(
          (value) => {
            log.#end(attempt, false);
            return value;
          },
          (error: unknown) => {
            log.#end(attempt, true);
            throw error;
          },
        );
      },
    });
    this.Client = CountingClient as unknown as typeof pg.Client;
  }

  #begin(): ConnectAttempt {
    const attempt: ConnectAttempt = {
      startedAt: performance.now(),
      inFlightAtStart: ++this.#inFlight,
      endedAt: undefined,
      failed: undefined,
    };
    this.attempts.push(attempt);
    return attempt;
  }

  #end(attempt: ConnectAttempt, failed: boolean): void {
    if (attempt.endedAt !== undefined) return;
    this.#inFlight--;
    attempt.endedAt = performance.now();
    attempt.failed = failed;
  }
}
