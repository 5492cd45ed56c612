import { afterEach, describe, expect, it, vi } from 'vitest';
import { callbackFrom, isCallback, promiseOrCallback, rethrowLater } from './callback.js';

/** Captures the next 'uncaughtException' (vitest's own handler would fail the run). */
function nextUncaught(): Promise<unknown> {
  const vitestHandlers = process.listeners('uncaughtException');
  for (const h of vitestHandlers) process.off('uncaughtException', h);
  return new Promise((resolve) => {
    process.once('uncaughtException', (error) => {
      for (const h of vitestHandlers) process.on('uncaughtException', h);
      resolve(error);
    });
  });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('callbackFrom', () => {
  it('calls back once with (null, value), never synchronously, even for a settled promise', async () => {
    const callback = vi.fn();
    callbackFrom(Promise.resolve(42), callback);
    await Promise.resolve();
    expect(callback).not.toHaveBeenCalled(); // still not: a tick later than any promise continuation
    await new Promise((r) => setImmediate(r));
    expect(callback).toHaveBeenCalledTimes(1);
    expect(callback).toHaveBeenCalledWith(null, 42);
  });

  it('calls back with (error) on failure, and with the arguments the driver uses when given', async () => {
    const failure = new Error('ECONNREFUSED');
    const done = new Promise<unknown[]>((resolve) => callbackFrom(Promise.reject(failure), (...args: unknown[]) => resolve(args)));
    expect(await done).toEqual([failure]);
    const release = () => {};
    const pgStyle = new Promise<unknown[]>((resolve) =>
      callbackFrom(
        Promise.resolve('client'),
        (...args: unknown[]) => resolve(args),
        (client) => [undefined, client, release],
        (error) => [error, undefined, release],
      ),
    );
    expect(await pgStyle).toEqual([undefined, 'client', release]);
  });

  it('turns a throw inside the callback into an uncaught exception, not an unhandled rejection', async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      const uncaught = nextUncaught();
      callbackFrom(Promise.resolve('ok'), () => {
        throw new Error('thrown by the user');
      });
      expect(await uncaught).toMatchObject({ message: 'thrown by the user' });
      await new Promise((r) => setImmediate(r));
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });

  it('tells a callback argument from the others', () => {
    expect(isCallback(() => {})).toBe(true);
    expect(isCallback([1])).toBe(false);
    expect(isCallback(undefined)).toBe(false);
  });
});

describe('promiseOrCallback', () => {
  it('returns the promise when no callback is given', async () => {
    await expect(promiseOrCallback('callback', undefined, () => Promise.resolve(7))).resolves.toBe(7);
  });

  it('with a callback, returns undefined and calls back once, later, with the mapped arguments', async () => {
    const callback = vi.fn();
    const returned = promiseOrCallback(
      'callback',
      callback,
      () => Promise.resolve(7),
      (v) => [undefined, v, 'extra'],
    );
    expect(returned).toBeUndefined();
    expect(callback).not.toHaveBeenCalled();
    await new Promise((r) => setImmediate(r));
    expect(callback).toHaveBeenCalledTimes(1);
    expect(callback).toHaveBeenCalledWith(undefined, 7, 'extra');
  });

  it('reports a synchronous throw of run() to the callback, not to the caller', async () => {
    const failure = new Error('sync');
    const callback = vi.fn();
    expect(
      promiseOrCallback('callback', callback, () => {
        throw failure;
      }),
    ).toBeUndefined();
    await new Promise((r) => setImmediate(r));
    expect(callback).toHaveBeenCalledWith(failure);
  });

  it('refuses a callback that is not a function, naming it', () => {
    expect(() => promiseOrCallback('cb', 42, () => Promise.resolve())).toThrow(/cb must be a function, got number/);
  });
});

describe('rethrowLater', () => {
  it('runs fn, and what it throws becomes an uncaught exception on the next tick', async () => {
    const uncaught = nextUncaught();
    const failure = new Error('listener threw');
    let after = false;
    rethrowLater(() => {
      throw failure;
    });
    after = true;
    expect(after).toBe(true);
    expect(await uncaught).toBe(failure);
  });
});
