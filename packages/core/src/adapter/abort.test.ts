import { describe, expect, it, vi } from 'vitest';
import { abortable, endOrDestroy, runOrAbandon } from './abort.js';

/** A real AbortSignal whose listener bookkeeping is observable. */
function watchedSignal(): { controller: AbortController; signal: AbortSignal; listeners: () => number } {
  const controller = new AbortController();
  const { signal } = controller;
  let count = 0;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((...args: Parameters<typeof add>) => {
    count++;
    add(...args);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
    count--;
    remove(...args);
  }) as typeof signal.removeEventListener;
  return { controller, signal, listeners: () => count };
}

describe('abortable', () => {
  it('settles as the promise does when the signal never aborts, and leaves no listener behind', async () => {
    const { signal, listeners } = watchedSignal();
    await expect(abortable(Promise.resolve(42), signal)).resolves.toBe(42);
    await expect(abortable(Promise.reject(new Error('driver failed')), signal)).rejects.toThrow('driver failed');
    expect(listeners()).toBe(0);
  });

  it('rejects with the signal reason as soon as the signal aborts, and ignores the late outcome', async () => {
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    try {
      const { controller, signal, listeners } = watchedSignal();
      let fail: (error: Error) => void = () => {};
      const running = new Promise<never>((_, reject) => {
        fail = reject;
      });
      const result = abortable(running, signal);
      controller.abort(new Error('createTimeoutMs passed'));
      await expect(result).rejects.toThrow('createTimeoutMs passed');
      fail(new Error('socket destroyed'));
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).not.toHaveBeenCalled();
      expect(listeners()).toBe(0);
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });

  it('rejects at once when the signal is already aborted, without an unhandled late rejection', async () => {
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    try {
      const reason = new Error('pool closing');
      await expect(abortable(Promise.reject(new Error('late')), AbortSignal.abort(reason))).rejects.toBe(reason);
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });

  it('returns the outcome unchanged without a signal, and accepts a plain value', async () => {
    await expect(abortable(Promise.resolve('x'))).resolves.toBe('x');
    await expect(abortable(7, new AbortController().signal)).resolves.toBe(7);
  });
});

describe('runOrAbandon', () => {
  it('does not abandon a set-up that succeeds, and removes its listener', async () => {
    const { signal, listeners } = watchedSignal();
    const abandon = vi.fn();
    await expect(runOrAbandon(signal, async () => 'connected', abandon)).resolves.toBe('connected');
    expect(abandon).not.toHaveBeenCalled();
    expect(listeners()).toBe(0);
  });

  it('abandons once, before rethrowing, when the set-up fails', async () => {
    const abandon = vi.fn();
    const failing = async (): Promise<never> => {
      throw new Error('handshake refused');
    };
    await expect(runOrAbandon(new AbortController().signal, failing, abandon)).rejects.toThrow('handshake refused');
    expect(abandon).toHaveBeenCalledTimes(1);
  });

  it('abandons at the moment the signal aborts (so a stalled connect stops), and only once', async () => {
    const controller = new AbortController();
    const { signal } = controller;
    const abandon = vi.fn();
    const running = runOrAbandon(signal, () => abortable(new Promise<never>(() => {}), signal), abandon);
    expect(abandon).not.toHaveBeenCalled();
    controller.abort(new Error('connect took too long'));
    expect(abandon).toHaveBeenCalledTimes(1);
    await expect(running).rejects.toThrow('connect took too long');
    expect(abandon).toHaveBeenCalledTimes(1);
  });
});

describe('endOrDestroy', () => {
  it('ends politely when it can, without destroying', async () => {
    const destroy = vi.fn();
    const end = vi.fn(async () => 'bye');
    await endOrDestroy(new AbortController().signal, end, destroy);
    expect(end).toHaveBeenCalledTimes(1);
    expect(destroy).not.toHaveBeenCalled();
  });

  it('destroys at once without a polite end, or when the signal has already aborted', async () => {
    const destroy = vi.fn();
    const end = vi.fn(async () => 'bye');
    await endOrDestroy(new AbortController().signal, null, destroy);
    await endOrDestroy(AbortSignal.abort(new Error('closeTimeoutMs passed')), end, destroy);
    expect(end).not.toHaveBeenCalled();
    expect(destroy).toHaveBeenCalledTimes(2);
  });

  it('destroys when the polite end fails, throws, or outlasts the signal, and never rejects', async () => {
    const destroy = vi.fn();
    await endOrDestroy(new AbortController().signal, async () => Promise.reject(new Error('EPIPE')), destroy);
    await endOrDestroy(
      new AbortController().signal,
      () => {
        throw new Error('already closed');
      },
      destroy,
    );
    const controller = new AbortController();
    const closing = endOrDestroy(controller.signal, () => new Promise(() => {}), destroy);
    controller.abort(new Error('closeTimeoutMs passed'));
    await closing;
    expect(destroy).toHaveBeenCalledTimes(3);
  });
});
