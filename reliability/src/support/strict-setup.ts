import { afterEach } from 'vitest';

/**
 * Loaded before every test file of this package (vitest `setupFiles`).
 *
 * Unhandled rejections and uncaught exceptions (an `'error'` event nobody listens to is thrown as one)
 * already fail a vitest run: nothing in this package installs a handler that would swallow them.
 * This adds the pool's own quiet channel: a pool without an `'error'` listener reports a contained
 * problem (a throwing listener, a failing `factory.close`) as a process warning with an `ERR_POOL_*`
 * code. A test that does not expect such a problem fails on it; a test that does listens to `'error'`.
 */
const unexpected: string[] = [];

process.on('warning', (warning: Error & { code?: string }) => {
  if (typeof warning.code === 'string' && warning.code.startsWith('ERR_POOL')) unexpected.push(`${warning.code}: ${warning.message}`);
});

afterEach(async () => {
  // Warnings are emitted on the next tick (never faked by fake timers).
  await new Promise<void>((resolve) => process.nextTick(resolve));
  const seen = unexpected.splice(0);
  if (seen.length > 0) throw new Error(`Unhandled pool problems (listen to 'error' where they are expected):\n${seen.join('\n')}`);
});
