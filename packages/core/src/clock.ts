/**
 * Monotonic milliseconds. Read through the global `performance` on every call, so fake timers
 * (`vi.useFakeTimers()`, which fakes `performance` too) control it in tests.
 */
export function now(): number {
  return performance.now();
}

/** Converts a monotonic timestamp from {@link now} to wall-clock epoch milliseconds. */
export function toEpochMs(monotonic: number): number {
  return Date.now() - (performance.now() - monotonic);
}
