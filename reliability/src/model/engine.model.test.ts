import { SeededRandom } from '@pool/testkit';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, it, vi } from 'vitest';
import { commandArbitraries, finish, Run, settingsArbitrary } from './harness.js';

/**
 * Model-based test of the engine with every extension a production pool uses: priorities
 * (@pool/queue's PriorityWaitQueue, with and without starvation prevention), partitions
 * (@pool/partitioning's PartitionManager), acquire timeouts and aborts, release / release with error /
 * destroy / dispose, resize, suspend and resume, eviction, reclaim, misuse, factory operations that
 * fail, throw, hang or ignore their signal, maintenance passes and close, all under fake time. The
 * invariants in `Run.check()` hold after every step; `finish()` proves the pool heals and closes clean.
 *
 * Deterministic by default (fixed seed). Explore with `FC_SEED=<n> FC_RUNS=<n>`; a failure prints the
 * seed, the path and the shrunk command list, which then becomes a named regression test.
 */

const seed = process.env.FC_SEED === undefined ? 10_2026 : Number(process.env.FC_SEED);
const path = process.env.FC_PATH;
const numRuns = Number(process.env.FC_RUNS ?? 150);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('ConnectionPool with queue and partitions (model-based)', () => {
  it(
    'keeps every invariant under random operations, faults, misuse and close, then heals and closes clean',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.commands(commandArbitraries, {
            maxCommands: 70,
            size: 'max',
            ...(process.env.FC_REPLAY === undefined ? {} : { replayPath: process.env.FC_REPLAY }),
          }),
          settingsArbitrary,
          fc.integer({ min: 1, max: 1_000_000 }),
          async (cmds, settings, randomSeed) => {
            // The pool's jitter (lifetime, backoff) uses Math.random: seed it so a counterexample replays exactly.
            const random = new SeededRandom(randomSeed);
            vi.spyOn(Math, 'random').mockImplementation(() => random.next());
            const run = new Run(settings);
            await vi.advanceTimersByTimeAsync(0);
            try {
              await fc.asyncModelRun(() => ({ model: {}, real: run }), cmds);
              await finish(run);
            } finally {
              if (run.pool.state !== 'closed') {
                run.factory.heal();
                const closing = Promise.all([run.pool.close(), run.other.close(), run.manager?.close()]);
                await vi.advanceTimersByTimeAsync(10_000);
                await closing;
              }
            }
          },
        ),
        { seed, numRuns, ...(path === undefined ? {} : { path }) },
      );
    },
    Math.max(170_000, numRuns * 300),
  );
});
