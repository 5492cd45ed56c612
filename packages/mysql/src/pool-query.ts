import type { FieldPacket, Query, QueryError, QueryResult } from 'mysql2';

/**
 * What `pool.query(sql, values?)` returns without a callback: mysql2's `Query` command, as mysql2's
 * pool returns it (`.on('result' | 'fields' | 'error' | 'end', ...)`, `.stream()`), which can also be
 * awaited (`const [rows, fields] = await pool.query(sql)`), as with mysql2/promise.
 *
 * The command chooses how it delivers rows when it is sent, a tick after the call: with a `'result'` or
 * `'fields'` listener, or a `.stream()`, row by row as events (awaiting it then rejects, since the rows
 * went to the listeners); otherwise all at once to the promise, and an error to `'error'` listeners
 * too. An error nobody listens to or awaits is dropped, as mysql2's pool drops it.
 */
export interface PoolQuery<T extends QueryResult = QueryResult> extends Query, PromiseLike<[T, FieldPacket[]]> {
  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<[T, FieldPacket[]] | R>;
  finally(onFinally?: (() => void) | null): Promise<[T, FieldPacket[]]>;
}

type Outcome = { ok: true; value: [unknown, FieldPacket[]] } | { ok: false; error: unknown };

/** The parts of a mysql2 command this module drives. */
interface Command {
  onResult?: ((err: QueryError | null, rows?: unknown, fields?: FieldPacket[]) => void) | undefined;
  listenerCount(event: string): number;
  emit(event: string, ...args: unknown[]): boolean;
}

/** @internal How a pool query delivers its outcome, chosen when it is sent (see {@link PoolQuery}). */
export interface QueryDelivery {
  /** Call right before the command is sent to a connection. */
  dispatch(): void;
  /** The pool could not run it (closed, no connection...): reject the promise, or emit `'error'` as mysql2 does. */
  fail(error: unknown): void;
}

/**
 * @internal Makes a callback-less mysql2 `Query` command awaitable (see {@link PoolQuery}). The promise
 * is only made when someone calls `then`, so a query nobody awaits never becomes an unhandled rejection.
 */
export function awaitable<T extends QueryResult>(query: Query): { query: PoolQuery<T>; delivery: QueryDelivery } {
  const command = query as unknown as Command & Record<string, unknown>;
  let outcome: Outcome | undefined;
  let streaming = false;
  let promise: Promise<[unknown, FieldPacket[]]> | undefined;
  let settle: ((o: Outcome) => void) | undefined;

  const deliver = (o: Outcome): void => {
    outcome = o;
    settle?.(o);
  };
  const result = (): Promise<[unknown, FieldPacket[]]> => {
    promise ??= new Promise((resolve, reject) => {
      settle = (o) => (o.ok ? resolve(o.value) : reject(o.error));
      if (streaming) reject(new TypeError('This query delivers its rows to its listeners or stream: it cannot be awaited too'));
      else if (outcome !== undefined) settle(outcome);
    });
    return promise;
  };
  Object.defineProperties(command, {
    // biome-ignore lint/suspicious/noThenProperty: the command is meant to be awaitable, as mysql2/promise's query is.
    then: { value: (onFulfilled?: never, onRejected?: never) => result().then(onFulfilled, onRejected), configurable: true },
    catch: { value: (onRejected?: never) => result().catch(onRejected), configurable: true },
    finally: { value: (onFinally?: never) => result().finally(onFinally), configurable: true },
  });

  const delivery: QueryDelivery = {
    dispatch() {
      if (command.listenerCount('result') > 0 || command.listenerCount('fields') > 0) {
        streaming = true;
        // As mysql2's pool does: a statement error reaches the listeners, and is never thrown from the event.
        (command as unknown as { once(event: string, listener: () => void): unknown }).once('error', () => {});
        return;
      }
      command.onResult = (err, rows, fields) => {
        if (err) {
          deliver({ ok: false, error: err });
          if (command.listenerCount('error') > 0) command.emit('error', err);
        } else deliver({ ok: true, value: [rows, fields ?? []] });
      };
    },
    fail(error) {
      deliver({ ok: false, error });
      if (command.listenerCount('error') > 0) command.emit('error', error);
    },
  };
  return { query: command as unknown as PoolQuery<T>, delivery };
}
