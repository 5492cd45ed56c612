import type { ConnectionFactory, CreateContext, OperationContext, ValidateContext } from '@pool/core';

/**
 * How one factory operation behaves:
 * - `ok`: succeeds (after `delayMs` of the clock, fake or real).
 * - `fail`: rejects.
 * - `throw`: throws synchronously (a factory that breaks the promise contract).
 * - `hang`: never settles until its signal aborts, then rejects with the signal's reason.
 * - `deaf`: ignores its signal; settles successfully `deafMs` later (a driver that cannot be cancelled:
 *   a connect that arrives after the pool gave up, a close that takes forever).
 * - `false` (validate only): resolves `false`.
 */
export type Behaviour = 'ok' | 'fail' | 'throw' | 'hang' | 'deaf' | 'false';

/** A connection made by {@link ControlledFactory}: it records what was done to it. */
export interface ControlledConnection {
  readonly serial: number;
  /** Set when `close()` was called on it (by the pool, exactly once, is the rule). */
  closeCalls: number;
  /** What the fake server says: `validate` answers with this. */
  healthy: boolean;
  /** Session state a reset must clear. */
  dirty: boolean;
  /** Operations run on it after close (a use after close is a pool bug). */
  usedAfterClose: number;
  /** Reports the connection broken to its pool (the factory contract's `markBroken`). */
  readonly markBroken: (error?: unknown) => void;
}

/** Why a controlled operation failed; a plain `Error` subclass (not a `PoolError`), as a driver's would be. */
export class ControlledFault extends Error {
  constructor(readonly operation: string) {
    super(`injected ${operation} failure`);
    this.name = 'ControlledFault';
  }
}

type Op = 'create' | 'validate' | 'reset' | 'close';

/**
 * A `ConnectionFactory` whose every operation can be told to succeed, fail, throw, hang or ignore its
 * signal, and which records enough to check that a pool never loses, leaks, double-closes or uses a
 * closed connection. Time goes through `setTimeout`, so it follows fake timers.
 *
 * @example
 * ```ts
 * const factory = new ControlledFactory();
 * factory.mode.create = 'fail';               // every connect fails until changed
 * factory.plan.create.push('hang', 'ok');     // the next two connects: one hangs, one succeeds
 * ```
 */
export class ControlledFactory implements ConnectionFactory<ControlledConnection> {
  /** The default behaviour of each operation. */
  readonly mode: Record<Op, Behaviour> = { create: 'ok', validate: 'ok', reset: 'ok', close: 'ok' };
  /** Behaviours for the next calls of each operation, used before `mode`. */
  readonly plan: Record<Op, Behaviour[]> = { create: [], validate: [], reset: [], close: [] };
  /** Delay of a successful operation, in ms. */
  delayMs = 0;
  /** How long a `deaf` operation takes, in ms. */
  deafMs = 1_000;
  /** Every connection ever created, in order. */
  readonly all: ControlledConnection[] = [];
  /** Connections created and not yet closed. */
  readonly open = new Set<ControlledConnection>();
  readonly calls: Record<Op, number> = { create: 0, validate: 0, reset: 0, close: 0 };
  /** Times `create()` was called per whole second of the clock (to spot busy loops). */
  readonly createsBySecond = new Map<number, number>();
  /** Close calls for a connection already closed. */
  doubleCloses = 0;
  /** Operations on a connection after its close (validate, reset, close excluded). */
  usesAfterClose = 0;
  /** `create()` calls that completed after the caller's signal aborted (the pool must close those). */
  lateCreates = 0;
  /** `create()` calls in the `deaf` behaviour that have not finished yet. */
  deafCreatesInFlight = 0;
  #serial = 0;

  #next(op: Op): Behaviour {
    return this.plan[op].shift() ?? this.mode[op];
  }

  #wait(behaviour: Behaviour, signal: AbortSignal, op: string): Promise<void> {
    if (behaviour === 'fail') return Promise.reject(new ControlledFault(op));
    if (behaviour === 'deaf') return new Promise((resolve) => setTimeout(resolve, this.deafMs));
    if (behaviour === 'hang') {
      return new Promise((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    }
    if (this.delayMs <= 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, this.delayMs);
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  create(ctx: CreateContext): Promise<ControlledConnection> {
    this.calls.create++;
    const second = Math.floor(performance.now() / 1000);
    this.createsBySecond.set(second, (this.createsBySecond.get(second) ?? 0) + 1);
    const behaviour = this.#next('create');
    if (behaviour === 'throw') throw new ControlledFault('create (synchronous)');
    if (behaviour === 'deaf') this.deafCreatesInFlight++;
    return this.#wait(behaviour, ctx.signal, 'create').then(() => {
      if (behaviour === 'deaf') this.deafCreatesInFlight--;
      if (ctx.signal.aborted) this.lateCreates++;
      const conn: ControlledConnection = {
        serial: ++this.#serial,
        closeCalls: 0,
        healthy: true,
        dirty: false,
        usedAfterClose: 0,
        markBroken: ctx.markBroken,
      };
      this.all.push(conn);
      this.open.add(conn);
      return conn;
    });
  }

  validate(conn: ControlledConnection, ctx: ValidateContext): Promise<boolean> {
    this.calls.validate++;
    this.#touch(conn);
    const behaviour = this.#next('validate');
    if (behaviour === 'throw') throw new ControlledFault('validate (synchronous)');
    if (behaviour === 'false') return Promise.resolve(false);
    return this.#wait(behaviour, ctx.signal, 'validate').then(() => conn.healthy && conn.closeCalls === 0);
  }

  reset(conn: ControlledConnection, ctx: OperationContext): Promise<void> {
    this.calls.reset++;
    this.#touch(conn);
    const behaviour = this.#next('reset');
    if (behaviour === 'throw') throw new ControlledFault('reset (synchronous)');
    return this.#wait(behaviour === 'false' ? 'ok' : behaviour, ctx.signal, 'reset').then(() => {
      conn.dirty = false;
    });
  }

  isDirty(conn: ControlledConnection): boolean {
    return conn.dirty;
  }

  close(conn: ControlledConnection, ctx: OperationContext): Promise<void> {
    this.calls.close++;
    conn.closeCalls++;
    if (conn.closeCalls > 1) this.doubleCloses++;
    this.open.delete(conn);
    const behaviour = this.#next('close');
    if (behaviour === 'throw') throw new ControlledFault('close (synchronous)');
    return this.#wait(behaviour === 'false' ? 'ok' : behaviour, ctx.signal, 'close');
  }

  /** Resets every mode to `ok` and drops the plans. */
  heal(): void {
    for (const op of Object.keys(this.mode) as Op[]) {
      this.mode[op] = 'ok';
      this.plan[op].length = 0;
    }
  }

  /** The most `create()` calls seen in any one second of the clock. */
  maxCreatesPerSecond(): number {
    let max = 0;
    for (const n of this.createsBySecond.values()) max = Math.max(max, n);
    return max;
  }

  #touch(conn: ControlledConnection): void {
    if (conn.closeCalls > 0) {
      conn.usedAfterClose++;
      this.usesAfterClose++;
    }
  }
}
