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
