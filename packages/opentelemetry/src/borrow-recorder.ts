import type { Attributes, Histogram } from '@opentelemetry/api';
import type { ConnectionPool } from '@pool/core';
import { BorrowSampler } from './borrow-sampler.js';

/** A sampled borrow still held this long after its period is no longer followed (ms). */
export const FOLLOW_MAX_MS = 60_000;

interface PoolTiming {
  /** The attributes of the pool's use times. */
  readonly attrs: Attributes;
  /** Withdraws the pool's borrow timing (`requestBorrowTiming`), while it is requested. */
  withdraw: (() => void) | null;
  /** Borrows acquired during a sampling period, followed to their release. */
  followed: WeakSet<object>;
  following: number;
}

/**
 * Records the wait-time and use-time histograms for the borrows the {@link BorrowSampler} picks: every
 * one, or those that start in a sampling period, each followed to its release (so long holds are not
 * under-represented). The pool measures hold times only while asked (`pool.requestBorrowTiming()`,
 * two clock reads per borrow): during periods, and until the followed borrows ended. The release
 * channel is subscribed only while something is followed.
 */
export class BorrowRecorder {
  readonly #wait: Histogram;
  readonly #use: Histogram;
  readonly #sampler: BorrowSampler;
  readonly #all: boolean;
  readonly #pools = new Map<ConnectionPool<unknown>, PoolTiming>();
  readonly #subscribeReleases: (fn: (pool: ConnectionPool<unknown>, connection: object, holdMs: number) => void) => () => void;
  #unsubscribe: (() => void) | null = null;
  #followTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    wait: Histogram,
    use: Histogram,
    timing: 'all' | number,
    subscribeReleases: (fn: (pool: ConnectionPool<unknown>, connection: object, holdMs: number) => void) => () => void,
  ) {
    this.#wait = wait;
    this.#use = use;
    this.#all = timing === 'all';
    this.#subscribeReleases = subscribeReleases;
    this.#sampler = new BorrowSampler(timing, (on) => this.#onPeriod(on));
  }

  /** True while acquisitions are recorded (read by the acquire handler before anything else). */
  get on(): boolean {
    return this.#sampler.on;
  }

  /** Starts recording `pool`'s borrows; its use times with `attrs`. */
  add(pool: ConnectionPool<unknown>, attrs: Attributes): void {
    const t: PoolTiming = { attrs, withdraw: null, followed: new WeakSet(), following: 0 };
    this.#pools.set(pool, t);
    if (this.#all || this.#sampler.on) t.withdraw = pool.requestBorrowTiming();
    if (this.#pools.size === 1) {
      this.#sampler.start();
      if (this.#all) this.#subscribe();
    }
  }

  /** Stops recording `pool`'s borrows. */
  remove(pool: ConnectionPool<unknown>): void {
    const t = this.#pools.get(pool);
    if (t === undefined) return;
    this.#pools.delete(pool);
    t.withdraw?.();
    if (this.#pools.size === 0) {
      this.#sampler.stop();
      this.#unsubscribeReleases();
      this.#clearFollowTimer();
    }
  }

  /**
   * A borrow started after `waitMs`: when sampled, its wait is recorded with `attrs` (not at all with
   * `null`: someone else records it) and it is followed to its release.
   */
  acquired(pool: ConnectionPool<unknown>, connection: object, waitMs: number, attrs: Attributes | null): void {
    if (!this.#sampler.on) return;
    if (attrs !== null) this.#wait.record(waitMs / 1000, attrs);
    if (this.#all) return;
    const t = this.#pools.get(pool);
    if (t === undefined || t.followed.has(connection)) return;
    t.followed.add(connection);
    t.following++;
  }

  /** A wait reported by someone else (a partition manager's whole wait): recorded when sampled. */
  waited(waitMs: number, attrs: Attributes): void {
    if (this.#sampler.on) this.#wait.record(waitMs / 1000, attrs);
  }

  #released(pool: ConnectionPool<unknown>, connection: object, holdMs: number): void {
    const t = this.#pools.get(pool);
    if (t === undefined) return;
    if (this.#all) {
      if (holdMs >= 0) this.#use.record(holdMs / 1000, t.attrs);
      return;
    }
    if (!t.followed.has(connection)) return;
    t.followed.delete(connection);
    t.following--;
    if (holdMs >= 0) this.#use.record(holdMs / 1000, t.attrs);
    if (t.following === 0 && !this.#sampler.on) this.#stopTiming(t);
  }

  #onPeriod(on: boolean): void {
    if (on) {
      this.#clearFollowTimer();
      for (const [pool, t] of this.#pools) t.withdraw ??= pool.requestBorrowTiming();
      this.#subscribe();
      return;
    }
    // The period is over: keep timing the pools whose sampled borrows are still held, for a while.
    let following = false;
    for (const t of this.#pools.values()) {
      if (t.following === 0) this.#stopTiming(t);
      else following = true;
    }
    if (!following) {
      this.#unsubscribeReleases();
      return;
    }
    this.#followTimer = setTimeout(() => {
      this.#followTimer = undefined;
      for (const t of this.#pools.values()) {
        t.followed = new WeakSet();
        t.following = 0;
        this.#stopTiming(t);
      }
      this.#unsubscribeReleases();
    }, FOLLOW_MAX_MS);
    this.#followTimer.unref?.();
  }

  #stopTiming(t: PoolTiming): void {
    t.withdraw?.();
    t.withdraw = null;
    if (!this.#sampler.on && [...this.#pools.values()].every((x) => x.following === 0)) this.#unsubscribeReleases();
  }

  #subscribe(): void {
    if (this.#unsubscribe !== null) return;
    this.#unsubscribe = this.#subscribeReleases((pool, connection, holdMs) => this.#released(pool, connection, holdMs));
  }

  #unsubscribeReleases(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  #clearFollowTimer(): void {
    if (this.#followTimer !== undefined) clearTimeout(this.#followTimer);
    this.#followTimer = undefined;
  }
}
