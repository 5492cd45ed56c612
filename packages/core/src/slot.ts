import type { OutcomeWindow } from './aging-policy.js';
import type { Expirable } from './bounded.js';
import type { DestroyReason } from './events.js';
import type { IdleEntry } from './idle-list.js';
import type { Lender, PooledConnection } from './pooled-connection.js';

/** Where a connection is in its life. */
export type SlotState = 'idle' | 'borrowed' | 'validating' | 'resetting' | 'closing';

/** The pool's record of one open connection. Internal: never exported from the package. */
export class Slot<C> implements IdleEntry {
  state: SlotState = 'idle';
  label: string | undefined = undefined;
  idleLabel: string | undefined = undefined;
  idlePrev: IdleEntry | null = null;
  idleNext: IdleEntry | null = null;
  labelPrev: IdleEntry | null = null;
  labelNext: IdleEntry | null = null;
  inIdle = false;
  /** Times borrowed. */
  borrows = 0;
  /** Monotonic ms: last time it became idle. */
  idleSince: number;
  /** Monotonic ms: last successful use or validation (fast validation trusts it for a while). */
  lastSuccessAt: number;
  /** Monotonic ms: current borrow start; NaN when the pool does not measure borrow times. */
  borrowedAt = Number.NaN;
  /** The pool's health epoch when this connection opened (see the pool's backoff). */
  healthEpoch = 0;
  /** Retires the connection at its lifetime (an entry on the pool's deadline queue). */
  expiry: Expirable | null = null;
  /** The live borrow, if any. */
  handle: PooledConnection<C> | null = null;
  /** Set when the connection must not be reused: it is destroyed at its next release or idle check. */
  retire: DestroyReason | null = null;
  /** What `markBroken` reported. */
  brokenError: unknown = undefined;
  leakReported = false;
  outcomes: OutcomeWindow | null = null;

  constructor(
    /** The pool the connection belongs to. */
    readonly lender: Lender<C>,
    readonly id: number,
    readonly connection: C,
    /** Monotonic ms. */
    readonly createdAt: number,
    /** Monotonic ms after which the connection is retired (Infinity: never). */
    readonly expiresAt: number,
  ) {
    this.idleSince = createdAt;
    this.lastSuccessAt = createdAt;
  }
}
