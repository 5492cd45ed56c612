/**
 * True when `value` can be used as an acquire's `signal`: an `AbortSignal`, or an object with what the
 * pool calls on one (`aborted`, `addEventListener`, `removeEventListener`), such as a signal from a
 * polyfill or another realm. Anything less would fail later, inside a release or a timer.
 */
export function isAbortSignal(value: unknown): value is AbortSignal {
  if (value instanceof AbortSignal) return true;
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Partial<AbortSignal>;
  return typeof s.aborted === 'boolean' && typeof s.addEventListener === 'function' && typeof s.removeEventListener === 'function';
}
