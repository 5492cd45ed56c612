import { AdaptiveLimiter } from '../adaptive-limiter.js';
import { type AdaptiveLimitOptions, resolveAdaptiveOptions } from '../adaptive-options.js';
import type { BorrowObserver, LimitTarget } from '../limit-target.js';

/** A database as a latency curve: the mean use time at `concurrency` borrowed connections, at time `t` (ms). */
export type LatencyModel = (concurrency: number, t: number) => number;

/**
 * A CPU-bound database: `baseMs` per query while at most `cores` run at once, slower in proportion
 * beyond (processor sharing), with `competing(t)` queries of another load sharing the cores.
 */
export function cpuBound(cores: number, baseMs: number, competing: (t: number) => number = () => 0): LatencyModel {
  return (n, t) => baseMs * Math.max(1, (n + competing(t)) / cores);
}

/** A small deterministic generator (mulberry32), for latency noise. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A closed-loop load on a simulated database, driven with fake timers: `callers` callers that always
 * want a connection; every interval, the connections the limit allows run queries whose use time comes
 * from `model` (with `noise`, a relative spread), and the callers beyond wait.
 */
export class SimulatedTarget implements LimitTarget {
  readonly name = 'simulated';
  min = 1;
  max = 64;
  limit = 64;
  callers: number;
  readonly applied: { limit: number; reason: string }[] = [];
  #observer: BorrowObserver | null = null;

  constructor(callers = 200) {
    this.callers = callers;
  }

  minLimit(): number {
    return this.min;
  }
  maxLimit(): number {
    return this.max;
  }
  borrowed(): number {
    return Math.min(this.limit, this.callers);
  }
  waiting(): number {
    return Math.max(0, this.callers - this.limit);
  }
  apply(limit: number, reason: string): void {
    if (!Number.isInteger(limit) || limit < this.min || limit > this.max) {
      throw new Error(`limit ${limit} outside [${this.min}, ${this.max}]`);
    }
    this.limit = limit;
    this.applied.push({ limit, reason });
  }
  watch(observer: BorrowObserver): () => void {
    this.#observer = observer;
    return () => {
      this.#observer = null;
    };
  }

  #held = 0;

  /** Reports the borrows of `ms` of closed-loop load at the current limit. */
  run(ms: number, model: LatencyModel, t: number, random: () => number, noise = 0.05, failures = 0): void {
    const o = this.#observer;
    if (o === null) return;
    const inflight = this.borrowed();
    const queued = this.callers > this.limit;
    while (this.#held < inflight) {
      this.#held++;
      o.acquired(queued);
    }
    if (inflight === 0) return;
    const latency = model(inflight, t);
    const completions = Math.max(1, Math.round((inflight * ms) / latency));
    if (queued) o.enqueued();
    for (let i = 0; i < completions; i++) {
      o.released(latency * (1 + noise * (2 * random() - 1)), i < failures);
      // The caller comes back at once (closed loop); a connection beyond a lowered limit is not lent again.
      if (this.#held > inflight) this.#held--;
      else o.acquired(queued);
    }
  }
}

/** A limiter on a simulated target (the constructor is internal; tests build it directly). */
export function simulatedLimiter(target: LimitTarget, options: AdaptiveLimitOptions = {}): AdaptiveLimiter {
  return new AdaptiveLimiter(target, resolveAdaptiveOptions(options));
}
