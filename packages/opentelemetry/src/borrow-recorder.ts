import type { Attributes, Histogram } from '@opentelemetry/api';
import type { ReleaseMessage } from '@pool/core';
import { BorrowSampler } from './borrow-sampler.js';

/** A sampled borrow still held this long after its sampling period is no longer followed (ms). */
export const FOLLOW_MAX_MS = 60_000;

interface PoolBorrows {
  /** The attributes of the pool's use times. */
  readonly attrs: Attributes;
  /** Connections whose current borrow started during a sampling period, followed to its release. */
  followed: Set<number>;
}

/**
 * Records the wait-time and use-time histograms for the borrows the {@link BorrowSampler} picks: every
 * one, or those that start in a sampling period, each followed to its release (so long holds are not
 * under-represented in the sample). `@pool/core` times borrows (two clock reads each) only while its
 * `pool:release` channel has a subscriber, so with sampling it is subscribed only during periods and
 * until the borrows they picked have ended.
 */
export class BorrowRecorder {
  readonly #wait: Histogram;
  readonly #use: Histogram;
  readonly #sampler: BorrowSampler;
  readonly #all: boolean;
  readonly #pools = new Map<string, PoolBorrows>();
  readonly #subscribeReleases: (fn: (m: ReleaseMessage) => void) => () => void;
  readonly #onSampling: (on: boolean) => void;
  #unsubscribe: (() => void) | null = null;
  #following = 0;
  #followTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param onSampling told when sampling periods start and end (`true`/`false`): whoever feeds
   *   {@link acquired} may listen to acquisitions only meanwhile. Never called with `'all'`.
   */
  constructor(
    wait: Histogram,
    use: Histogram,
    timing: 'all' | number,
    subscribeReleases: (fn: (m: ReleaseMessage) => void) => () => void,
    onSampling: (on: boolean) => void = () => {},
  ) {
    this.#onSampling = onSampling;
    this.#wait = wait;
    this.#use = use;
    this.#all = timing === 'all';
    this.#subscribeReleases = subscribeReleases;
    this.#sampler = new BorrowSampler(timing, (on) => this.#onPeriod(on));
  }

  /** True while acquisitions are recorded. */
  get on(): boolean {
    return this.#sampler.on;
  }

  /** Starts recording the borrows of the pool named `pool`; its use times with `attrs`. */
  add(pool: string, attrs: Attributes): void {
    this.#pools.set(pool, { attrs, followed: new Set() });
    if (this.#pools.size === 1) {
      this.#sampler.start();
      if (this.#all) this.#subscribe();
    }
  }

  /** Stops recording the pool's borrows. */
  remove(pool: string): void {
    const p = this.#pools.get(pool);
    if (p === undefined) return;
    this.#pools.delete(pool);
    this.#following -= p.followed.size;
    if (this.#pools.size === 0) {
      this.#sampler.stop();
      this.#clearFollowTimer();
      this.#unsubscribeReleases();
    }
  }

  /**
   * A borrow of connection `connectionId` started after `waitMs`: when sampled, its wait is recorded
   * with `attrs` (not at all with `null`: someone else records it) and it is followed to its release.
   */
  acquired(pool: string, connectionId: number, waitMs: number, attrs: Attributes | null): void {
    if (!this.#sampler.on) return;
    if (attrs !== null) this.#wait.record(waitMs / 1000, attrs);
    if (this.#all) return;
    const p = this.#pools.get(pool);
    if (p === undefined || p.followed.has(connectionId)) return;
    p.followed.add(connectionId);
    this.#following++;
  }

  /** A wait reported by someone else (a partition manager's whole wait): recorded when sampled. */
  waited(waitMs: number, attrs: Attributes): void {
    if (this.#sampler.on) this.#wait.record(waitMs / 1000, attrs);
  }

  #released(m: ReleaseMessage): void {
    const p = this.#pools.get(m.pool);
    if (p === undefined) return;
    if (!this.#all) {
      if (!p.followed.delete(m.connectionId)) return;
      this.#following--;
    }
    // NaN: a borrow that began before the pool timed borrows.
    if (m.holdMs >= 0) this.#use.record(m.holdMs / 1000, p.attrs);
    if (!this.#all && this.#following === 0 && !this.#sampler.on) this.#stopFollowing();
  }

  #onPeriod(on: boolean): void {
    this.#onSampling(on);
    if (on) {
      this.#clearFollowTimer();
      this.#subscribe();
      return;
    }
    if (this.#following === 0) {
      this.#unsubscribeReleases();
      return;
    }
    // The period is over: its borrows still held are followed for a while yet.
    this.#followTimer = setTimeout(() => this.#stopFollowing(), FOLLOW_MAX_MS);
    this.#followTimer.unref?.();
  }

  #stopFollowing(): void {
    this.#clearFollowTimer();
    for (const p of this.#pools.values()) p.followed.clear();
    this.#following = 0;
    this.#unsubscribeReleases();
  }

  #subscribe(): void {
    this.#unsubscribe ??= this.#subscribeReleases((m) => this.#released(m));
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
