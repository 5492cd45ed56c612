import type { EnumValue } from './enum.js';
import { InvalidConfigError } from './errors.js';

/**
 * What the pool does with a connection when it is released.
 *
 * - `Fast`: return it as is (cheapest; the borrower must leave it clean).
 * - `Checked`: run `factory.reset` before it is reused; a reset that throws or exceeds `resetTimeoutMs`
 *   destroys the connection.
 * - `Replace`: close it and open a new one (strongest isolation, costs a connect per borrow).
 * - `Adaptive` (default): `Checked` when `factory.isDirty(conn)` says the connection carries state, `Fast`
 *   otherwise; a factory without `isDirty` is treated as always dirty.
 */
export const RecyclingStrategy = Object.freeze({
  Fast: 'fast',
  Checked: 'checked',
  Replace: 'replace',
  Adaptive: 'adaptive',
} as const);

/** One of the {@link RecyclingStrategy} values. */
export type RecyclingStrategy = EnumValue<typeof RecyclingStrategy>;

const VALUES = Object.values(RecyclingStrategy) as string[];

/** Throws `InvalidConfigError` unless `value` is a {@link RecyclingStrategy}. */
export function checkRecyclingStrategy(value: unknown): RecyclingStrategy {
  if (typeof value !== 'string' || !VALUES.includes(value)) {
    throw new InvalidConfigError('recyclingStrategy', value, `must be one of ${VALUES.map((v) => `'${v}'`).join(', ')}`);
  }
  return value as RecyclingStrategy;
}
