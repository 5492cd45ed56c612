import { InvalidConfigError } from '@pool/core';
import type { SeededRandom } from './random.js';

/**
 * A delay in milliseconds: a fixed number, or a range sampled uniformly (with the simulation's seeded
 * random generator) each time it is needed.
 *
 * @example
 * ```ts
 * const fixed: Latency = 5;
 * const jittery: Latency = { minMs: 2, maxMs: 40 };
 * ```
 */
export type Latency = number | { readonly minMs: number; readonly maxMs: number };

/** @internal Throws `InvalidConfigError` unless `value` is a {@link Latency}. */
export function checkLatency(field: string, value: unknown): Latency {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
  } else if (typeof value === 'object' && value !== null) {
    const { minMs, maxMs, ...rest } = value as { minMs?: unknown; maxMs?: unknown };
    const extra = Object.keys(rest)[0];
    if (extra !== undefined)
      throw new InvalidConfigError(`${field}.${extra}`, (rest as Record<string, unknown>)[extra], 'is not a latency field (minMs, maxMs)');
    if (
      typeof minMs === 'number' &&
      typeof maxMs === 'number' &&
      Number.isFinite(minMs) &&
      Number.isFinite(maxMs) &&
      minMs >= 0 &&
      maxMs >= minMs
    ) {
      return { minMs, maxMs };
    }
  }
  throw new InvalidConfigError(field, value, 'must be a number of milliseconds >= 0, or { minMs, maxMs } with 0 <= minMs <= maxMs');
}

/** @internal Throws `InvalidConfigError` unless `value` is a probability in [0, 1]. */
export function checkRate(field: string, value: unknown): number {
  if (typeof value === 'number' && value >= 0 && value <= 1) return value;
  throw new InvalidConfigError(field, value, 'must be a probability between 0 and 1');
}

/** @internal Rejects keys of `options` not listed in `known`. */
export function checkKeys(where: string, options: unknown, known: readonly string[]): Record<string, unknown> {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidConfigError(where, options, 'must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new InvalidConfigError(
        where === '' ? key : `${where}.${key}`,
        (options as Record<string, unknown>)[key],
        `is not a known option; known: ${known.join(', ')}`,
      );
    }
  }
  return options as Record<string, unknown>;
}

/** @internal Samples a latency. */
export function sampleLatency(latency: Latency, random: SeededRandom): number {
  return typeof latency === 'number' ? latency : random.between(latency.minMs, latency.maxMs);
}

/** @internal The error a delay rejects with when its signal aborts. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/**
 * @internal Resolves after `ms` (on whatever clock `setTimeout` is, fake timers included); rejects with
 * the signal's reason when it aborts first. `ms <= 0` resolves without a timer.
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** @internal Never resolves; rejects with the signal's reason when it aborts (a hang the pool can give up on). */
export function hang(signal?: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal === undefined) return;
    if (signal.aborted) {
      reject(abortReason(signal));
      return;
    }
    signal.addEventListener('abort', () => reject(abortReason(signal)), { once: true });
  });
}
