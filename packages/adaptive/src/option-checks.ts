import { InvalidConfigError } from '@pool/core';

/** @internal Rejects keys of `options` not in `allowed`, naming the first one. */
export function rejectUnknownKeys(field: string, options: object, allowed: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new InvalidConfigError(
        `${field}.${key}`,
        (options as Record<string, unknown>)[key],
        `is not an option (known: ${allowed.join(', ')})`,
      );
    }
  }
}

/** @internal A finite number within `[min, max]` (bounds inclusive unless `exclusiveMax`), or the default. */
export function numberIn(field: string, value: unknown, fallback: number, min: number, max: number, exclusiveMax = false): number {
  if (value === undefined) return fallback;
  const ok = typeof value === 'number' && Number.isFinite(value) && value >= min && (exclusiveMax ? value < max : value <= max);
  if (!ok) throw new InvalidConfigError(field, value, `must be a number >= ${min} and ${exclusiveMax ? '<' : '<='} ${max}`);
  return value;
}

/** @internal A whole number >= `min`, or the default. */
export function integerFrom(field: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new InvalidConfigError(field, value, `must be an integer >= ${min}`);
  }
  return value;
}

/** @internal An options object (or undefined: none given). */
export function objectOrEmpty(field: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidConfigError(field, value, 'must be an object');
  return value as Record<string, unknown>;
}
