/** A Node-style callback, as driver APIs take them (`(err, result) => ...`, `(err, conn, release) => ...`). */
export type NodeCallback = (...args: never[]) => void;

/** True when `value` is a function, i.e. a caller passed a callback in that argument position. */
export function isCallback(value: unknown): value is NodeCallback {
  return typeof value === 'function';
}

/**
 * Reports the outcome of `promise` to a Node-style `callback`, as the callback APIs of `pg` and
 * `mysql2` do: the callback is called exactly once, never synchronously (not even when the promise has
 * already settled), and an exception thrown inside it is an uncaught exception — the process's
 * `'uncaughtException'`, as when a driver calls back from a socket event — never an unhandled
 * rejection and never swallowed. Return nothing to the caller of a callback API: drivers return
 * `undefined` there, and a promise nobody awaits would only turn into noise.
 *
 * `success` and `failure` build the arguments: by default `(null, value)` and `(error)`. Pass your own
 * to match a driver (`pg.Pool#connect` calls back with `(undefined, client, release)`).
 *
 * @example
 * ```ts
 * query(sql: string, callback?: (err: Error | null, rows?: Row[]) => void): Promise<Row[]> | undefined {
 *   const result = this.#query(sql);
 *   if (callback === undefined) return result;
 *   callbackFrom(result, callback);
 *   return undefined;
 * }
 * ```
 */
export function callbackFrom<T>(
  promise: PromiseLike<T>,
  callback: NodeCallback,
  success: (value: T) => readonly unknown[] = (value) => [null, value],
  failure: (error: unknown) => readonly unknown[] = (error) => [error],
): void {
  const call = callback as (...args: unknown[]) => void;
  promise.then(
    (value) => {
      process.nextTick(() => call(...success(value)));
    },
    (error: unknown) => {
      process.nextTick(() => call(...failure(error)));
    },
  );
}

/**
 * The two faces of a driver method that takes an optional callback (`pool.connect(cb?)`,
 * `pool.end(cb?)`): without `callback`, returns `run()`'s promise; with one, reports `run()`'s outcome
 * to it through {@link callbackFrom} (once, never synchronously) and returns `undefined`, as drivers
 * do, so no promise is created for nobody. A `callback` that is neither `undefined` nor a function is a
 * `TypeError` naming `name`, thrown before anything runs.
 *
 * @example
 * ```ts
 * end(callback?: (err?: Error) => void): Promise<void> | undefined {
 *   return promiseOrCallback('callback', callback, () => this.#end(), () => []);
 * }
 * ```
 */
export function promiseOrCallback<T>(
  name: string,
  callback: unknown,
  run: () => Promise<T>,
  success?: (value: T) => readonly unknown[],
  failure?: (error: unknown) => readonly unknown[],
): Promise<T> | undefined {
  if (callback === undefined) return run();
  if (!isCallback(callback)) throw new TypeError(`${name} must be a function, got ${typeof callback}`);
  let promise: Promise<T>;
  try {
    promise = run();
  } catch (error) {
    promise = Promise.reject(error);
  }
  callbackFrom(promise, callback, success, failure);
  return undefined;
}

/**
 * Runs `fn` (typically an `emit` to the user's listeners, or a user's callback) and turns what it
 * throws into an uncaught exception on the next tick, as when a driver's listener throws from a socket
 * event: the pool's own bookkeeping around the call is never cut short, and the error is neither
 * swallowed nor an unhandled rejection.
 */
export function rethrowLater(fn: () => void): void {
  try {
    fn();
  } catch (error) {
    process.nextTick(() => {
      throw error;
    });
  }
}
