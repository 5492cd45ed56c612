import { inspect } from 'node:util';
import type { ConnectionFactory } from '@pool/core';
import { afterEach, expect, vi } from 'vitest';
import type { OpenedConnection } from './conformance-checks.js';

/** What {@link useCleanup} gives a test file. */
export interface TestCleanup {
  /** Runs `cleanup` after the current test (the last deferred first), also when the test fails; its own failure is ignored. */
  defer(cleanup: () => unknown): void;
  /**
   * Opens a connection with `factory.create` (a signal that aborts after `timeoutMs`, default 10 s, and a
   * `markBroken` spy) and closes it after the test.
   */
  open<C>(factory: ConnectionFactory<C>, timeoutMs?: number): Promise<OpenedConnection<C>>;
}

/**
 * Registers an `afterEach` in the calling test file that undoes what each test set up — pools to end,
 * connections to close, tables to drop — so a failing assertion never leaves them open. Call it once at
 * the top of the file.
 *
 * @example
 * ```ts
 * const cleanup = useCleanup();
 *
 * it('resets a dirty session', async () => {
 *   const { conn } = await cleanup.open(fooFactory(URL));
 *   const pool = createFooPool(URL);
 *   cleanup.defer(() => pool.end());
 *   // ...
 * });
 * ```
 */
export function useCleanup(): TestCleanup {
  const pending: (() => unknown)[] = [];
  afterEach(async () => {
    for (let cleanup = pending.pop(); cleanup !== undefined; cleanup = pending.pop()) {
      try {
        await cleanup();
      } catch {
        // a cleanup that fails (the server already dropped it) must not hide the test's own result
      }
    }
  });
  return {
    defer(cleanup) {
      pending.push(cleanup);
    },
    async open<C>(factory: ConnectionFactory<C>, timeoutMs = 10_000): Promise<OpenedConnection<C>> {
      const markBroken = vi.fn<(error?: unknown) => void>();
      const conn = await factory.create({ signal: AbortSignal.timeout(timeoutMs), markBroken });
      pending.push(() => factory.close(conn, { signal: AbortSignal.timeout(5_000) }));
      return { conn, markBroken, factory };
    },
  };
}

/** An operation context (`{ signal }`) whose signal aborts after `timeoutMs` (default 10 s): for direct `validate` / `reset` / `close` calls. */
export function timeoutContext(timeoutMs = 10_000): { signal: AbortSignal } {
  return { signal: AbortSignal.timeout(timeoutMs) };
}

/** The ways a value is commonly shown: `String()`, `util.inspect` (deep), JSON for plain data, and for an error its message and stack. */
function renderings(value: unknown): [string, string][] {
  const out: [string, string][] = [
    ['String', String(value)],
    ['inspect', inspect(value, { depth: 8 })],
  ];
  const plain = Array.isArray(value) || (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype);
  if (plain) {
    try {
      out.push(['JSON', JSON.stringify(value)]);
    } catch {
      // not JSON (a cycle, a BigInt): String and inspect still show it
    }
  }
  if (value instanceof Error) out.push(['message', value.message], ['stack', value.stack ?? '']);
  return out;
}

/**
 * Asserts that `secret` (a password) shows nowhere in `values` — not in `String(value)`, `util.inspect`
 * (depth 8), `JSON.stringify` (of plain objects and arrays, such as `statistics()`), nor, for an error,
 * its message and stack. A failure names the value and
 * the rendering that showed it, without printing the secret.
 *
 * @example
 * ```ts
 * expectNoSecret(SECRET, factory, factory.statistics(), conn);
 * expectNoSecret(SECRET, await factory.create(ctx).catch((e: unknown) => e));
 * ```
 */
export function expectNoSecret(secret: string, ...values: unknown[]): void {
  if (typeof secret !== 'string' || secret === '') throw new TypeError('expectNoSecret needs a non-empty secret');
  const leaks: string[] = [];
  values.forEach((value, i) => {
    for (const [how, text] of renderings(value)) if (text.includes(secret)) leaks.push(`${how}(values[${i}])`);
  });
  if (leaks.length > 0) expect.fail(`the secret shows in ${leaks.join(', ')}`);
}
