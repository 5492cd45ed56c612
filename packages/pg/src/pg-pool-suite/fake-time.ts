import { afterEach, vi } from 'vitest';

/**
 * Fake timers for the upstream tests that wait a fixed time for the pool's timers (idle timeout,
 * lifetime): the pool's timers and clock are faked, the server's I/O stays real, and the test moves
 * the clock where upstream sleeps. Faking `performance` moves `@pool/core`'s clock too.
 */
export function useFakeTime(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'] });
}

afterEach(() => {
  vi.useRealTimers();
});

/** Upstream's `await wait(ms)` / `setTimeout(resolve, ms)`, on the fake clock. */
export function elapse(ms: number): Promise<unknown> {
  return vi.advanceTimersByTimeAsync(ms);
}
