/**
 * One submittable (pg-cursor's `Cursor`, pg-query-stream's `QueryStream`, a `pg.Query`) run by
 * `pool.query(submittable)`: what it reported, and when the borrowed client is done with it.
 */
import type { EventEmitter } from 'node:events';
import { rethrowLater } from '@pool/core/adapter';
import type pg from 'pg';
import { clientHolds, type PgSubmittable } from './client-state.js';

type SubmittableCallback = (err: unknown, result?: unknown) => void;

interface SubmittableFields {
  callback?: unknown;
  destroyed?: unknown;
  handleError?: unknown;
  on?: unknown;
}

/**
 * @internal Follows a submittable that `PgPool.query` hands to a borrowed client. As pg.Pool, it
 * becomes the submittable's `callback` when it has none (pg-query-stream calls it at its end or its
 * error, a `pg.Query` with its result); the error PostgreSQL sent for it is also noted (pg-cursor calls
 * no callback).
 */
export class SubmittableRun {
  /** The first error reported for it (PostgreSQL's, the client's, or a connect error), if any. */
  error: unknown = undefined;
  /** What it passed its callback on success (pg-query-stream: the cursor's result). */
  result: unknown = undefined;
  readonly #submittable: PgSubmittable & SubmittableFields;

  constructor(submittable: PgSubmittable) {
    this.#submittable = submittable as PgSubmittable & SubmittableFields;
    // pg.Pool's client.query(submittable, undefined, cb) does the same: set only when none is set.
    if (typeof this.#submittable.callback !== 'function') {
      this.#submittable.callback = ((err, result) => {
        if (err) this.error ??= err;
        else if (this.error === undefined) this.result ??= result;
      }) satisfies SubmittableCallback;
    }
  }

  /** True when the submittable (a stream) was destroyed before it could be submitted: there is nothing to run. */
  get destroyed(): boolean {
    return this.#submittable.destroyed === true;
  }

  /**
   * Tells the submittable it cannot run (no connection: a connect error, the pool ended), as pg tells a
   * submittable given to a client that cannot take it: through its `handleError` (a cursor's reads and
   * a stream's consumer get the error). A listener that throws does so on the next tick.
   */
  fail(error: unknown): void {
    this.error ??= error;
    const handleError = this.#submittable.handleError;
    if (typeof handleError === 'function') rethrowLater(() => handleError.call(this.#submittable, error, undefined));
  }

  /**
   * Calls `done` once, when `client` is done with the submittable: at the ReadyForQuery after which pg
   * no longer holds it (it ended, failed, or was closed: a destroyed pg-query-stream closes its
   * cursor), when the client ends or fails, or when the submittable emits `'close'` while still held
   * (abandoned half-way; the pool then retires the busy connection rather than lend it again).
   */
  follow(client: pg.Client, done: () => void): void {
    const submittable = this.#submittable;
    const protocol = (client as unknown as { connection?: EventEmitter }).connection;
    const events = client as unknown as EventEmitter;
    const emitter = typeof submittable.on === 'function' ? (submittable as unknown as EventEmitter) : undefined;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      protocol?.off('errorMessage', onErrorMessage);
      protocol?.off('readyForQuery', onReady);
      events.off('end', finish);
      events.off('error', onClientError);
      emitter?.off('close', finish);
      done();
    };
    // Before the client's own handler, which lets go of the active query.
    const onErrorMessage = (msg: unknown): void => {
      if (clientHolds(client, submittable)) this.error ??= msg;
    };
    // After the client's own handler (added at its construction): pg has let go of a finished query.
    const onReady = (): void => {
      if (!clientHolds(client, submittable)) finish();
    };
    const onClientError = (err: unknown): void => {
      this.error ??= err;
      finish();
    };
    if (!clientHolds(client, submittable)) {
      // pg refused it (a client in pipeline mode, or not queryable): its handleError is on the way, this tick.
      process.nextTick(finish);
      return;
    }
    protocol?.prependListener('errorMessage', onErrorMessage);
    protocol?.on('readyForQuery', onReady);
    events.on('end', finish);
    events.on('error', onClientError);
    emitter?.on('close', finish);
  }
}
