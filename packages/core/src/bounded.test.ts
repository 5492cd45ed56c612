import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createOperationScheduler, OperationTimeoutError, runBounded, withoutStack } from './bounded.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('runBounded', () => {
  it('resolves with the value of a callback that finishes in time', async () => {
    await expect(runBounded('op', 100, async () => 42)).resolves.toEqual({ ok: true, value: 42 });
  });

  it('turns a throw, synchronous or not, into { ok: false }', async () => {
    const boom = new Error('boom');
    await expect(
      runBounded('op', 100, () => {
        throw boom;
      }),
    ).resolves.toEqual({ ok: false, timedOut: false, error: boom });
    await expect(runBounded('op', 100, async () => Promise.reject(boom))).resolves.toEqual({ ok: false, timedOut: false, error: boom });
  });

  it('settles at the deadline when the callback hangs, and aborts the signal it read', async () => {
    let signal: AbortSignal | undefined;
    const result = runBounded('validate', 250, (ctx) => {
      signal = ctx.signal;
      return new Promise<never>(() => {});
    });
    await vi.advanceTimersByTimeAsync(250);
    const r = await result;
    expect(r).toMatchObject({ ok: false, timedOut: true });
    expect((r as { error: unknown }).error).toBeInstanceOf(OperationTimeoutError);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBe((r as { error: unknown }).error);
  });

  it('creates no AbortSignal unless the callback reads it, and a late reader sees it aborted', async () => {
    const Original = globalThis.AbortController;
    let made = 0;
    globalThis.AbortController = class extends Original {
      constructor() {
        super();
        made++;
      }
    };
    try {
      let ctxRef: { readonly signal: AbortSignal } | undefined;
      const result = runBounded('op', 10, (ctx) => {
        ctxRef = ctx;
        return new Promise<never>(() => {});
      });
      await vi.advanceTimersByTimeAsync(10);
      await result;
      expect(made).toBe(0);
      expect(ctxRef?.signal.aborted).toBe(true);
      expect(made).toBe(1);
    } finally {
      globalThis.AbortController = Original;
    }
  });

  it('hands a value that arrives after the deadline to onLate', async () => {
    let finish!: (v: string) => void;
    const late: string[] = [];
    const result = runBounded(
      'create',
      50,
      () =>
        new Promise<string>((r) => {
          finish = r;
        }),
      { onLate: (v) => late.push(v) },
    );
    await vi.advanceTimersByTimeAsync(50);
    expect(await result).toMatchObject({ ok: false, timedOut: true });
    finish('connection');
    await vi.advanceTimersByTimeAsync(0);
    expect(late).toEqual(['connection']);
  });

  it('keeps many deadlines on one scheduler timer', async () => {
    const scheduler = createOperationScheduler();
    const before = vi.getTimerCount();
    const results = Array.from({ length: 50 }, (_, i) =>
      runBounded('op', 100 + (i % 3), () => new Promise<never>(() => {}), { scheduler }),
    );
    expect(vi.getTimerCount() - before).toBe(1);
    await vi.advanceTimersByTimeAsync(102);
    expect((await Promise.all(results)).every((r) => !r.ok && r.timedOut)).toBe(true);
    expect(vi.getTimerCount()).toBe(before);
  });

  it('abandon() settles at once and aborts the signal', async () => {
    let abandon!: (reason: unknown) => void;
    let signal: AbortSignal | undefined;
    const result = runBounded(
      'create',
      1_000,
      (ctx) => {
        signal = ctx.signal;
        return new Promise<never>(() => {});
      },
      undefined,
      (op) => {
        abandon = (reason) => op.abandon(reason);
      },
    );
    abandon('closing');
    expect(await result).toEqual({ ok: false, timedOut: false, error: 'closing' });
    expect(signal?.reason).toBe('closing');
  });
});

describe('withoutStack', () => {
  it('builds an error whose stack is only its first line, and restores the limit', () => {
    const limit = Error.stackTraceLimit;
    const err = withoutStack(() => new Error('late'));
    expect(err.stack).toBe('Error: late');
    expect(Error.stackTraceLimit).toBe(limit);
  });
});
