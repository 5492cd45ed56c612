import { afterEach, describe, it } from 'vitest';
import { type AdapterTestContext, type AdapterTestOptions, CHECKS, Harness, resolveOptions } from './conformance-checks.js';

export { expectNoSecret, type TestCleanup, timeoutContext, useCleanup } from './adapter-test-helpers.js';

export type {
  AdapterCapabilities,
  AdapterProxyOptions,
  AdapterTestContext,
  AdapterTestOptions,
  OpenedConnection,
} from './conformance-checks.js';

/**
 * Registers the `@pool` adapter conformance suite for a `ConnectionFactory`, inside a
 * `describe(name)` block of the calling vitest file. Every adapter (`@pool/pg`, `@pool/mysql`,
 * `@pool/redis`, or your own package) calls it from its own test file against a real server.
 *
 * Always checked: `create` opens a connection that answers `ping`; `close` ends it; a pool over the
 * factory serves concurrent borrowers and closes everything. The rest is switched on by what you
 * give (each test is registered with `it.skipIf`, so skipped ones show in the report):
 *
 * - `killConnection`: `validate` reports a server-killed connection unusable, `markBroken` is called
 *   for an idle one, `reset` rejects on it, `close` is safe on it, and a pool replaces it whether it
 *   was idle or borrowed (the borrower gets an error; the next borrower a working connection).
 * - `setSessionState` + `readSessionState`: `reset` restores the state (also through a pool);
 *   with `capabilities.dirtyTracking`, `isDirty` follows it.
 * - `beginTransaction` + `inTransaction`: `reset` rolls back; `isDirty` reports the transaction.
 * - `validationQueries`: `validate` runs `ValidateContext.query` and fails when it fails.
 * - `proxy`: through a {@link FaultProxy}: an aborted signal gives up a stalled connect, a network cut is
 *   detected (validate, markBroken), `close` is safe and settles on a dead network, and a pool heals
 *   after every connection was cut while the "server" refused new ones for a while.
 * - `unreachableFactory`: `create` rejects (and the error does not contain `secret`).
 * - `secret`: never shown by `toString`, `util.inspect`, or `statistics()`.
 * - `capabilities` (`validate`, `reset`, `abortCreate`, `idleErrorDetection` default on;
 *   `dirtyTracking`, `statistics` default off): say what your driver cannot do, and those tests are skipped.
 *
 * Tests use real timers and real I/O and never assert durations; asynchronous effects are awaited by
 * polling up to `detectionTimeoutMs`.
 *
 * @example
 * ```ts
 * // test/conformance.test.ts of a package `pool-adapter-foo`
 * import { testAdapter } from '@pool/testkit/conformance';
 * import { fooFactory } from '../src/index.js';
 *
 * const url = process.env.FOO_URL ?? 'foo://127.0.0.1:7000';
 * testAdapter({
 *   name: 'foo',
 *   factory: () => fooFactory(url),
 *   ping: (conn) => conn.ping(),
 *   killConnection: (conn) => killFromAdminConnection(url, conn.serverId),
 *   setSessionState: (conn) => conn.command('SET mode fast'),
 *   readSessionState: (conn) => conn.command('GET mode'),
 *   proxy: { target: '127.0.0.1:7000', factory: ({ host, port }) => fooFactory(`foo://${host}:${port}`) },
 *   capabilities: { dirtyTracking: true },
 * });
 * ```
 */
export function testAdapter<C>(options: AdapterTestOptions<C>): void {
  const resolved = resolveOptions(options);
  describe(resolved.name, () => {
    let harness = new Harness<C>(resolved);
    afterEach(async () => {
      const done = harness;
      harness = new Harness<C>(resolved);
      await done.dispose();
    });
    for (const check of CHECKS) {
      it.skipIf(!check.applies(resolved as never))(check.name, () => check.run(harness as Harness<unknown>), resolved.testTimeoutMs);
    }
    if (resolved.additionalTests !== undefined) {
      // A stable view whose methods always reach the current test's harness.
      const ctx = {
        options: resolved,
        factory: () => harness.factory(),
        open: (factory) => harness.open(factory),
        close: (opened) => harness.close(opened),
        pool: (config, factory) => harness.pool(config, factory),
        proxied: () => harness.proxied(),
        eventually: (fn) => harness.eventually(fn),
      } satisfies AdapterTestContext<C>;
      resolved.additionalTests(ctx);
    }
  });
}
