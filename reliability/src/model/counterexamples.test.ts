import { SeededRandom } from '@pool/testkit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  Acquire,
  Advance,
  Close,
  FactoryMode,
  finish,
  Misuse,
  Reclaim,
  Release,
  Resize,
  Run,
  type RunSettings,
  SetLimits,
  Sicken,
} from './harness.js';

/**
 * The shrunk counterexamples the model-based test found, replayed as named regression tests (each
 * with the invariants of every step and the heal-and-close check at the end). Bugs in other packages
 * that the model found are in docs/reliability.md; the cases here pass, and pin down behaviour the
 * model once doubted.
 */

const base: RunSettings = {
  minSize: 0,
  maxSize: 2,
  validateOnAcquire: false,
  validateOnRelease: false,
  fairQueue: false,
  recycling: 'fast',
  maxWaitQueueSize: 0,
  creationThrottle: null,
  partitioned: false,
  starvation: false,
  aging: 'none',
  fastValidation: false,
  deadlock: false,
  prepare: false,
};

type Step = { run(m: Record<string, never>, r: Run): Promise<void> };

async function replay(settings: Partial<RunSettings>, steps: Step[]): Promise<Run> {
  const random = new SeededRandom(1);
  vi.spyOn(Math, 'random').mockImplementation(() => random.next());
  const run = new Run({ ...base, ...settings });
  await vi.advanceTimersByTimeAsync(0);
  try {
    for (const step of steps) await step.run({}, run);
    await finish(run);
  } finally {
    if (run.pool.state !== 'closed') {
      run.factory.heal();
      const closing = Promise.all([run.pool.close(), run.other.close(), run.manager?.close()]);
      await vi.advanceTimersByTimeAsync(10_000);
      await closing;
    }
  }
  return run;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('model counterexamples, replayed', () => {
  it('a connection that fails validation backs creation off: short acquires time out, later ones are served and the pool heals', async () => {
    const run = await replay({ minSize: 1, validateOnAcquire: true }, [
      new Sicken(0),
      new Acquire(22, 'critical', 0, undefined, -1),
      new Acquire(21, 'critical', 0, undefined, -1),
    ]);
    expect(run.pool.statistics().validationFailures).toBeGreaterThanOrEqual(1);
  });

  it('close() also waits for, and closes, a connect that ignored its abort and lands while close() runs', async () => {
    const run = await replay({}, [
      new FactoryMode('create', 'deaf', true),
      new FactoryMode('close', 'deaf', false),
      new Resize(1, 1),
      new Advance(49),
      new Advance(351),
      new Acquire(1, 'critical', 0, undefined, -1),
      new Close(),
      new Acquire(1, 'critical', 0, undefined, -1),
    ]);
    expect(run.factory.lateCreates).toBe(1);
    for (const c of run.factory.all) expect(c.closeCalls).toBe(1);
  });

  it('close() twice returns the same promise', async () => {
    await replay({}, [new Close(), new Close()]);
  });

  it('a partition whose share of the pool is reserved by another refuses at once when it may not queue', async () => {
    const run = await replay({ partitioned: true }, [
      new SetLimits(1, 1, 1, 0, null, null),
      new SetLimits(0, 1, 0, 0, null, null),
      new Resize(0, 1),
      new Acquire(1, 'critical', 0, undefined, -1),
    ]);
    expect(run.acquires[0]?.state).toBe('failed');
  });

  it('setLimits refuses reservations that no longer fit after a resize, and misuse changes nothing', async () => {
    await replay({ partitioned: true }, [new SetLimits(1, 1, 1, 0, null, null), new Resize(0, 1), new Misuse(0, 'releaseTwice')]);
  });

  it("a prepare hook that outlives its caller's deadline: the connection goes back, the counters stay consistent", async () => {
    await replay({ partitioned: true, prepare: true }, [
      new Acquire(1, 'critical', 3, undefined, 0),
      new Acquire(1, 'critical', 3, undefined, 0),
      new FactoryMode('prepare', 'deaf', false),
      new Reclaim(0),
      new Advance(1),
    ]);
  });

  it('a prepare hook that hangs while the pool closes past closeTimeoutMs: every acquire settles, nothing stays open', async () => {
    await replay({ partitioned: true, prepare: true }, [
      new FactoryMode('prepare', 'hang', false),
      new Acquire(301, 'critical', 0, undefined, 0),
      new Close(),
      new Advance(300),
    ]);
  });

  it('releases of every kind, then a borrow reclaimed, under a fully reserved pool', async () => {
    await replay({ partitioned: true }, [
      new SetLimits(0, 1, 0, 0, null, null),
      new SetLimits(1, 2, 2, 0, null, null),
      new Release(0, 'release'),
      new Acquire(200, 'high', 1, 'l0', -1),
      new Release(0, 'dispose'),
    ]);
  });
});
