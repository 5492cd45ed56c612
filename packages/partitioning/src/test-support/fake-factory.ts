import type { ConnectionFactory, CreateContext } from '@pool/core';

/** A connection made by {@link FakeFactory}: a stand-in for a database session. */
export interface FakeConnection {
  readonly serial: number;
  /** Which factory opened it (isolated partitions have their own). */
  readonly origin: string;
  closed: boolean;
  /** Session state a `prepare` hook sets (like `SET search_path`). */
  searchPath: string | null;
  queries: string[];
}

/**
 * A small in-memory factory for partitioning tests: opens connections after `createDelayMs` on the
 * (fake) clock, keeps track of the open ones so tests can check nothing leaks or closes twice, and can
 * report a per-connection memory cost like an adapter would.
 */
export class FakeFactory implements ConnectionFactory<FakeConnection> {
  createDelayMs = 0;
  readonly open = new Set<FakeConnection>();
  createCalls = 0;
  closeCalls = 0;
  doubleCloses = 0;
  #serial = 0;

  constructor(readonly origin = 'shared') {}

  async create(_ctx: CreateContext): Promise<FakeConnection> {
    this.createCalls++;
    if (this.createDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.createDelayMs));
    const conn: FakeConnection = { serial: ++this.#serial, origin: this.origin, closed: false, searchPath: null, queries: [] };
    this.open.add(conn);
    return conn;
  }

  async close(conn: FakeConnection): Promise<void> {
    this.closeCalls++;
    if (conn.closed) this.doubleCloses++;
    conn.closed = true;
    this.open.delete(conn);
  }
}

/** A {@link FakeFactory} that reports each connection's memory cost, as an adapter could. */
export class MemoryReportingFakeFactory extends FakeFactory {
  bytesPerConnection = 1_000;

  connectionMemoryBytes(_conn: FakeConnection): number {
    return this.bytesPerConnection;
  }
}

/** Lets pending promise callbacks run without moving the (fake) clock. */
export async function flush(times = 30): Promise<void> {
  for (let i = 0; i < times; i++) await Promise.resolve();
}

/** Records how an acquire settled, so a test can look without awaiting it. */
export function track<T>(promise: Promise<T>): {
  readonly state: 'pending' | 'resolved' | 'rejected';
  readonly value: T | undefined;
  readonly error: unknown;
} {
  const out = { state: 'pending' as 'pending' | 'resolved' | 'rejected', value: undefined as T | undefined, error: undefined as unknown };
  promise.then(
    (v) => {
      out.state = 'resolved';
      out.value = v;
    },
    (e: unknown) => {
      out.state = 'rejected';
      out.error = e;
    },
  );
  return out;
}
