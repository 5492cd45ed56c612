import { EventEmitter } from 'node:events';

let serial = 0;

/** The in-memory "connection" the pool scenarios lend out: opening, checking and closing it costs one microtask. */
export class FakeConnection {
  readonly id = ++serial;
  closed = false;
  uses = 0;
}

/** Opens a {@link FakeConnection} (resolved on the next microtask, like a driver that answers at once). */
export function openFake(): Promise<FakeConnection> {
  return Promise.resolve(new FakeConnection());
}

/** Closes a {@link FakeConnection}. */
export function closeFake(conn: FakeConnection): Promise<void> {
  conn.closed = true;
  return Promise.resolve();
}

/** The check every pool runs when it validates on borrow: one awaited microtask. */
export function validateFake(conn: FakeConnection): Promise<boolean> {
  return Promise.resolve(!conn.closed);
}

/**
 * A stand-in for `pg.Client` that pg-pool (`pg.Pool`) accepts through its `Client` option: the
 * callback-style `connect`/`end`, the `error` listener dance and the `_queryable`/`_ending` flags
 * pg-pool reads on release. No socket: connect and end call back on the next microtask.
 */
export class FakePgClient extends EventEmitter {
  readonly id = ++serial;
  _queryable = true;
  _ending = false;
  uses = 0;

  connect(callback?: (error?: Error) => void): Promise<void> | undefined {
    if (callback === undefined) return Promise.resolve();
    queueMicrotask(() => callback());
    return undefined;
  }

  end(callback?: (error?: Error) => void): Promise<void> | undefined {
    this._ending = true;
    this._queryable = false;
    if (callback === undefined) {
      queueMicrotask(() => this.emit('end'));
      return Promise.resolve();
    }
    queueMicrotask(() => {
      this.emit('end');
      callback();
    });
    return undefined;
  }

  ref(): void {}
  unref(): void {}
}
