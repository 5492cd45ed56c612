import { type ConnectionPool, InvalidConfigError } from '@pool/core';
import type { PriorityWaitQueue } from './priority-wait-queue.js';

/** @internal Moves waiters that waited `thresholdMs` at their level up; returns the number of level steps. */
export const kBoost: unique symbol = Symbol('pool.queue.boost');
/** @internal Installs (or with null removes) the starvation policy a queue consults at each dequeue. */
export const kSetPolicy: unique symbol = Symbol('pool.queue.setPolicy');

/** @internal What a queue needs from a starvation policy. */
export interface BoostPolicy {
  readonly thresholdMs: number;
  checkAndBoost(queue: PriorityWaitQueue): number;
}

/** @internal A queue that {@link BoostPolicy} policies can drive. */
export interface Boostable {
  [kBoost](thresholdMs: number): number;
  [kSetPolicy](policy: BoostPolicy | null): void;
}

/** @internal True for a `PriorityWaitQueue` (without importing it: no module cycle). */
export function isBoostable(value: unknown): value is Boostable {
  return typeof value === 'object' && value !== null && typeof (value as Partial<Boostable>)[kBoost] === 'function';
}

/**
 * @internal True for a `ConnectionPool`. Duck-typed on purpose: an application that loads `@pool/core`
 * both as ESM and as CJS has two `ConnectionPool` classes, and `instanceof` would miss one of them.
 */
export function isPool(value: unknown): value is ConnectionPool<unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const p = value as Record<string, unknown>;
  return (
    typeof p.borrowed === 'function' &&
    typeof p.size === 'function' &&
    typeof p.on === 'function' &&
    typeof p.off === 'function' &&
    typeof p.acquire === 'function' &&
    typeof p.waitQueue === 'object'
  );
}

/** @internal Rejects option keys a constructor does not know, naming the key. */
export function checkOptionKeys(options: unknown, known: readonly string[], what: string): Record<string, unknown> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidConfigError('options', options, `must be an object of ${what} options`);
  }
  const record = options as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!known.includes(key)) {
      throw new InvalidConfigError(key, record[key], `is not a ${what} option; known: ${known.join(', ')}`);
    }
  }
  return record;
}
