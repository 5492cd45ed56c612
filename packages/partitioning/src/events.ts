import type { PoolError, PooledConnection } from '@pool/core';
import type { PartitionInfo } from './partition.js';
import type { RejectionReason } from './statistics.js';

/**
 * The events a {@link PartitionManager} emits (listen with `manager.on(name, listener)`). Listeners run
 * synchronously; one that throws is reported as an `error` event and never breaks the manager. The pool's
 * own events keep working too: connections acquired through a partition carry a {@link PartitionContext}
 * as their `context`, so pool events and leak reports show the partition.
 */
export interface PartitionEventMap<C = unknown> {
  /** A caller got a connection through `partition` after waiting `waitMs`; `prepared` when the `prepare` hook ran for it. */
  acquire: { partition: string; connection: PooledConnection<C>; waitMs: number; prepared: boolean };
  /** A borrow made through `partition` ended after `holdMs`. */
  release: { partition: string; connectionId: number; holdMs: number };
  /** An acquire failed; `partition` is null when the request could not be routed. */
  reject: { partition: string | null; reason: RejectionReason | 'invalid' | 'unrouted'; error: PoolError; waitMs: number };
  /** A partition was created. */
  create: { partition: PartitionInfo };
  /** `removePartition()` started draining a partition. */
  drain: { partition: string };
  /** A partition finished draining and is gone. */
  remove: { partition: string };
  /** A problem the manager contained (a throwing listener). */
  error: { error: PoolError };
}

/**
 * The `context` of every connection acquired through a partition (see `PooledConnection.context`, the
 * pool's `acquire`/`acquireError` events and `pool.connections()`).
 */
export interface PartitionContext {
  /** The partition the connection was acquired for. */
  readonly partition: string;
  /** The routed request, or null for `partition.acquire()`. */
  readonly request: import('./routing.js').PartitionRequest | null;
  /** The caller's own `context` option, if any. */
  readonly context: unknown;
}
