import type { ConnectionFactory, CreateContext, OperationContext, ValidateContext } from '@pool/core';

/** A connection made by {@link FakeFactory}. */
export interface FakeConnection {
  readonly serial: number;
  closed: boolean;
  /** What validate() answers. */
  healthy: boolean;
}

/**
 * A small in-memory factory for this package's tests: creations can be delayed on the fake clock, and
 * it counts open connections so tests can check that nothing leaks.
 */
export class FakeFactory implements ConnectionFactory<FakeConnection> {
  createDelayMs = 0;
  readonly open = new Set<FakeConnection>();
  createCalls = 0;
  closeCalls = 0;
  validateCalls = 0;
  #serial = 0;

  async create(_ctx: CreateContext): Promise<FakeConnection> {
    this.createCalls++;
    if (this.createDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.createDelayMs));
    const conn: FakeConnection = { serial: ++this.#serial, closed: false, healthy: true };
    this.open.add(conn);
    return conn;
  }

  async validate(conn: FakeConnection, _ctx: ValidateContext): Promise<boolean> {
    this.validateCalls++;
    return conn.healthy && !conn.closed;
  }

  async close(conn: FakeConnection, _ctx: OperationContext): Promise<void> {
    this.closeCalls++;
    conn.closed = true;
    this.open.delete(conn);
  }
}

/** Lets pending promise callbacks run without moving the (fake) clock. */
export async function flush(times = 20): Promise<void> {
  for (let i = 0; i < times; i++) await Promise.resolve();
}

/** Resolves after `ms` on the (fake) clock. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Records how a promise settled, without letting a rejection go unhandled. */
export function track<T>(promise: Promise<T>): { state: 'pending' | 'fulfilled' | 'rejected'; value?: T; error?: unknown } {
  const out: { state: 'pending' | 'fulfilled' | 'rejected'; value?: T; error?: unknown } = { state: 'pending' };
  promise.then(
    (value) => {
      out.state = 'fulfilled';
      out.value = value;
    },
    (error: unknown) => {
      out.state = 'rejected';
      out.error = error;
    },
  );
  return out;
}
