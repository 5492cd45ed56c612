function ignore(): void {}

/**
 * Settles like `promise`, unless `signal` aborts first: then it rejects at once with the signal's
 * reason. The promise itself keeps running (a driver call cannot be taken back); its late outcome is
 * ignored and never becomes an unhandled rejection. No listener stays on the signal once the promise
 * settles. Without a signal, it resolves as `promise` does.
 *
 * Use it around every driver call a factory makes under a `CreateContext` / `OperationContext` signal, so
 * the pool's timeouts hold even when the driver ignores signals.
 *
 * @example
 * ```ts
 * async close(conn, { signal }) {
 *   await abortable(conn.client.end(), signal).catch(() => conn.client.destroy());
 * }
 * ```
 */
export function abortable<T>(promise: T | PromiseLike<T>, signal?: AbortSignal): Promise<T> {
  const running = Promise.resolve(promise);
  if (signal === undefined) return running;
  if (signal.aborted) {
    running.catch(ignore);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    running.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Runs `setUp` — a driver's connect and whatever follows it in `create()` — and makes sure a connection
 * that will not reach the pool is closed: when `signal` aborts meanwhile, `abandon` runs at once (destroy
 * the socket, so a stalled connect stops now, not at the OS timeout), and when `setUp` fails, `abandon`
 * runs before the error is rethrown. `abandon` runs at most once and must not throw. Wrap the slow steps
 * inside `setUp` in {@link abortable} so they reject with the signal's reason.
 *
 * @example
 * ```ts
 * async create({ signal, markBroken }) {
 *   if (signal.aborted) throw signal.reason;
 *   const client = new Client(config);
 *   await runOrAbandon(
 *     signal,
 *     () => abortable(client.connect(), signal),
 *     () => client.destroy(),
 *   );
 *   return new FooConnection(client, markBroken);
 * }
 * ```
 */
export async function runOrAbandon<T>(signal: AbortSignal, setUp: () => Promise<T>, abandon: () => void): Promise<T> {
  let abandoned = false;
  const abandonOnce = (): void => {
    if (abandoned) return;
    abandoned = true;
    abandon();
  };
  signal.addEventListener('abort', abandonOnce, { once: true });
  try {
    return await setUp();
  } catch (error) {
    abandonOnce();
    throw error;
  } finally {
    signal.removeEventListener('abort', abandonOnce);
  }
}

/**
 * Closes a driver connection the polite way when it can, and at once when it cannot: runs `end` (the
 * driver's `QUIT` / `Terminate` / `COM_QUIT`) under `signal`, and calls `destroy` (drop the socket)
 * instead when `end` is `null` (the connection is broken, or still busy with a command that would hold
 * the goodbye back), when the signal has already aborted, or when `end` fails or outlasts the signal.
 * Never rejects; `destroy` must not throw. Made for `ConnectionFactory.close`, which must be safe on a
 * broken connection and settle within the pool's `closeTimeoutMs`.
 *
 * @example
 * ```ts
 * async close(conn, { signal }) {
 *   await endOrDestroy(signal, conn.broken ? null : () => conn.client.end(), () => conn.client.destroy());
 * }
 * ```
 */
export async function endOrDestroy(signal: AbortSignal, end: (() => Promise<unknown>) | null, destroy: () => void): Promise<void> {
  if (end === null || signal.aborted) {
    destroy();
    return;
  }
  try {
    await abortable(end(), signal);
  } catch {
    destroy();
  }
}
