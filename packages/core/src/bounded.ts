/** The result of {@link runBounded}. */
export type BoundedResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly timedOut: boolean; readonly error: unknown };

/** The reason a bounded operation's signal aborts with. */
export class OperationTimeoutError extends Error {
  constructor(
    readonly operation: string,
    readonly timeoutMs: number,
  ) {
    super(`${operation} did not finish within ${timeoutMs} ms`);
    this.name = 'TimeoutError';
  }
}

/**
 * Runs `fn` with an `AbortSignal` that aborts after `timeoutMs`, and settles by then whatever `fn` does
 * (a callback that ignores the signal and hangs is abandoned, not awaited). Never rejects: a throw
 * (synchronous or not) becomes `{ ok: false }`. The timer is unref'd.
 */
export function runBounded<T>(operation: string, timeoutMs: number, fn: (signal: AbortSignal) => Promise<T>): Promise<BoundedResult<T>> {
  return new Promise((resolve) => {
    const controller = new AbortController();
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      const error = new OperationTimeoutError(operation, timeoutMs);
      controller.abort(error);
      resolve({ ok: false, timedOut: true, error });
    }, timeoutMs);
    timer.unref?.();
    const settle = (result: BoundedResult<T>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(result);
    };
    let promise: Promise<T>;
    try {
      promise = Promise.resolve(fn(controller.signal));
    } catch (error) {
      settle({ ok: false, timedOut: false, error });
      return;
    }
    promise.then(
      (value) => settle({ ok: true, value }),
      (error: unknown) => settle({ ok: false, timedOut: false, error }),
    );
  });
}
