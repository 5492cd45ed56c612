import { InvalidConfigError } from './errors.js';

/** Retire connections older than `maxLifetimeMs` (checked when they are idle, never while borrowed). */
export interface TimeBasedAging {
  readonly kind: 'timeBased';
  readonly maxLifetimeMs: number;
}
/** Retire connections after `maxBorrows` borrows. */
export interface UsageBasedAging {
  readonly kind: 'usageBased';
  readonly maxBorrows: number;
}
/** Retire connections at whichever of the two limits comes first. */
export interface CombinedAging {
  readonly kind: 'combined';
  readonly maxLifetimeMs: number;
  readonly maxBorrows: number;
}
/**
 * Retire connections after `baseLifetimeMs`, and early when their recent error rate exceeds
 * `errorThreshold`. The error rate is failed borrows / borrows over the connection's last `windowSize`
 * borrows (default 20, at most 32), judged once at least `minSamples` (default 10) are in the window.
 * A borrow failed when it was released with an error (`release({ error })`, or `pool.use` whose
 * callback threw).
 */
export interface AdaptiveAging {
  readonly kind: 'adaptive';
  readonly baseLifetimeMs: number;
  readonly errorThreshold: number;
  readonly windowSize?: number;
  readonly minSamples?: number;
}

/** When the pool retires a connection on its own, beyond `maxLifetimeMs`. Build one with the {@link AgingPolicy} constructors. */
export type AgingPolicy = TimeBasedAging | UsageBasedAging | CombinedAging | AdaptiveAging;

/**
 * Constructors for the aging policies (the seed's `AgingPolicy::TimeBased { .. }` and friends). Each
 * validates its fields and throws `InvalidConfigError` naming the field.
 *
 * @example
 * ```ts
 * const pool = await ConnectionPool.create(config, factory, {
 *   agingPolicy: AgingPolicy.Adaptive({ baseLifetimeMs: 3_600_000, errorThreshold: 0.05 }),
 * });
 * ```
 */
export const AgingPolicy = Object.freeze({
  TimeBased: (fields: Omit<TimeBasedAging, 'kind'>): TimeBasedAging => checkAgingPolicy({ kind: 'timeBased', ...fields }) as TimeBasedAging,
  UsageBased: (fields: Omit<UsageBasedAging, 'kind'>): UsageBasedAging =>
    checkAgingPolicy({ kind: 'usageBased', ...fields }) as UsageBasedAging,
  Combined: (fields: Omit<CombinedAging, 'kind'>): CombinedAging => checkAgingPolicy({ kind: 'combined', ...fields }) as CombinedAging,
  Adaptive: (fields: Omit<AdaptiveAging, 'kind'>): AdaptiveAging => checkAgingPolicy({ kind: 'adaptive', ...fields }) as AdaptiveAging,
});

const KNOWN_FIELDS: Record<AgingPolicy['kind'], readonly string[]> = {
  timeBased: ['kind', 'maxLifetimeMs'],
  usageBased: ['kind', 'maxBorrows'],
  combined: ['kind', 'maxLifetimeMs', 'maxBorrows'],
  adaptive: ['kind', 'baseLifetimeMs', 'errorThreshold', 'windowSize', 'minSamples'],
};

function positiveMs(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new InvalidConfigError(field, v, 'must be a finite number of milliseconds greater than 0');
  }
  return v;
}

function count(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new InvalidConfigError(field, v, `must be an integer between ${min} and ${max}`);
  }
  return v;
}

/** Validates any value as an {@link AgingPolicy} and returns a frozen copy; throws `InvalidConfigError`. */
export function checkAgingPolicy(policy: unknown): AgingPolicy {
  if (typeof policy !== 'object' || policy === null) {
    throw new InvalidConfigError('agingPolicy', policy, 'must be an object built with AgingPolicy.TimeBased/UsageBased/Combined/Adaptive');
  }
  const p = policy as Record<string, unknown>;
  const kind = p.kind as AgingPolicy['kind'];
  const known = KNOWN_FIELDS[kind];
  if (known === undefined || !Object.hasOwn(KNOWN_FIELDS, kind)) {
    throw new InvalidConfigError('agingPolicy.kind', p.kind, `must be one of ${Object.keys(KNOWN_FIELDS).join(', ')}`);
  }
  for (const key of Object.keys(p)) {
    if (!known.includes(key)) {
      throw new InvalidConfigError(`agingPolicy.${key}`, p[key], `is not a field of the ${kind} aging policy`);
    }
  }
  const max = Number.MAX_SAFE_INTEGER;
  switch (kind) {
    case 'timeBased':
      return Object.freeze({ kind, maxLifetimeMs: positiveMs('agingPolicy.maxLifetimeMs', p.maxLifetimeMs) });
    case 'usageBased':
      return Object.freeze({ kind, maxBorrows: count('agingPolicy.maxBorrows', p.maxBorrows, 1, max) });
    case 'combined':
      return Object.freeze({
        kind,
        maxLifetimeMs: positiveMs('agingPolicy.maxLifetimeMs', p.maxLifetimeMs),
        maxBorrows: count('agingPolicy.maxBorrows', p.maxBorrows, 1, max),
      });
    case 'adaptive': {
      const threshold = p.errorThreshold;
      if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) {
        throw new InvalidConfigError('agingPolicy.errorThreshold', threshold, 'must be a fraction between 0 and 1');
      }
      const windowSize = p.windowSize === undefined ? 20 : count('agingPolicy.windowSize', p.windowSize, 1, 32);
      const minSamples =
        p.minSamples === undefined ? Math.min(10, windowSize) : count('agingPolicy.minSamples', p.minSamples, 1, windowSize);
      return Object.freeze({
        kind,
        baseLifetimeMs: positiveMs('agingPolicy.baseLifetimeMs', p.baseLifetimeMs),
        errorThreshold: threshold,
        windowSize,
        minSamples,
      });
    }
  }
}

/** Why an aging policy retires a connection. */
export type AgingVerdict = 'usage' | 'errorRate' | null;

/** The lifetime an aging policy gives a connection, or `null` when it does not age by time. */
export function agingLifetimeMs(policy: AgingPolicy | null): number | null {
  if (policy === null) return null;
  switch (policy.kind) {
    case 'timeBased':
    case 'combined':
      return policy.maxLifetimeMs;
    case 'adaptive':
      return policy.baseLifetimeMs;
    case 'usageBased':
      return null;
  }
}

/**
 * The outcome of a connection's recent borrows: a bit per borrow (1 = failed), newest in bit 0, at most
 * 32. Costs two integer operations per release.
 */
export class OutcomeWindow {
  #bits = 0;
  #samples = 0;

  record(failed: boolean, windowSize: number): void {
    const mask = windowSize >= 32 ? 0xffffffff : (1 << windowSize) - 1;
    this.#bits = ((this.#bits << 1) | (failed ? 1 : 0)) & mask;
    if (this.#samples < windowSize) this.#samples++;
  }

  get samples(): number {
    return this.#samples;
  }

  get failures(): number {
    let v = this.#bits >>> 0;
    let n = 0;
    while (v !== 0) {
      v &= v - 1;
      n++;
    }
    return n;
  }

  get errorRate(): number {
    return this.#samples === 0 ? 0 : this.failures / this.#samples;
  }
}

/** Decides, at release, whether a policy retires a connection for its use (time is handled by expiry). */
export function agingVerdict(policy: AgingPolicy | null, borrows: number, outcomes: OutcomeWindow | null): AgingVerdict {
  if (policy === null) return null;
  switch (policy.kind) {
    case 'usageBased':
    case 'combined':
      return borrows >= policy.maxBorrows ? 'usage' : null;
    case 'adaptive':
      if (outcomes !== null && outcomes.samples >= (policy.minSamples ?? 10) && outcomes.errorRate > policy.errorThreshold) {
        return 'errorRate';
      }
      return null;
    case 'timeBased':
      return null;
  }
}
