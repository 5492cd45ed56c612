import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PoolError } from './errors.js';
import { ConnectionPool } from './pool.js';
import type { PooledConnection } from './pooled-connection.js';
import { RecyclingStrategy } from './recycling-strategy.js';
import { type FakeConnection, FakeFactory } from './test-support/fake-factory.js';

/**
 * Model-based test of the engine: random interleavings of acquire (with timeouts and aborts), release
 * (with and without error), destroy, time passing, factories that fail or hang, and close, under fake
 * time. After every step the invariants below must hold.
 *
 * Deterministic by default (fixed seed). Explore more with `FC_SEED=<n> FC_RUNS=<n>`.
 */

const MAX_SIZE = 3;
const CREATE_TIMEOUT = 200;
const VALIDATION_TIMEOUT = 100;
const RESET_TIMEOUT = 100;
const CLOSE_TIMEOUT = 300;

interface AcquireRecord {
  readonly deadline: number;
  readonly controller: AbortController;
  state: 'pending' | 'served' | 'failed';
  handle?: PooledConnection<FakeConnection>;
  error?: unknown;
}

interface Real {
  pool: ConnectionPool<FakeConnection>;
  factory: FakeFactory;
  acquires: AcquireRecord[];
  held: PooledConnection<FakeConnection>[];
  closed: boolean;
}

type Model = Record<string, never>;

async function settle(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
}

function checkInvariants(r: Real): void {
  const { pool, factory } = r;
  const size = pool.size();
  const stats = pool.statistics();
  // Never more than maxSize connections, created or being created.
  expect(size.total + size.pending).toBeLessThanOrEqual(MAX_SIZE);
  expect(factory.open.size).toBeLessThanOrEqual(MAX_SIZE);
  // Counters add up.
  expect(stats.connectionsCreated - stats.connectionsDestroyed).toBe(size.total);
  expect(stats.acquired - stats.released).toBe(r.held.length);
  // Every caller saw exactly what the counters say: one outcome per acquire.
  expect(stats.acquired).toBe(r.acquires.filter((a) => a.state === 'served').length);
  expect(stats.acquireFailures).toBe(r.acquires.filter((a) => a.state === 'failed').length);
  // No connection held by two borrowers, and none held is closed.
  const raws = r.held.map((h) => h.connection);
  expect(new Set(raws).size).toBe(raws.length);
  for (const raw of raws) expect(raw.closed).toBe(false);
  // Every acquire settles by its deadline, with a PoolError when it fails.
  const t = performance.now();
  for (const a of r.acquires) {
    if (a.deadline <= t) expect(a.state, `acquire due at ${a.deadline}, now ${t}`).not.toBe('pending');
    if (a.state === 'failed') expect(a.error).toBeInstanceOf(PoolError);
  }
  // The factory was never asked to close a connection twice.
  expect(factory.doubleCloses).toBe(0);
}

class AcquireCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly timeoutMs: number,
    readonly label: string | undefined,
  ) {}
  check = () => true;
  async run(_m: Model, r: Real): Promise<void> {
    const controller = new AbortController();
    const record: AcquireRecord = { deadline: performance.now() + this.timeoutMs, controller, state: 'pending' };
    r.acquires.push(record);
    const options = this.label === undefined ? {} : { label: this.label };
    r.pool.acquire({ timeoutMs: this.timeoutMs, signal: controller.signal, ...options }).then(
      (handle) => {
        record.state = 'served';
        record.handle = handle;
        r.held.push(handle);
      },
      (error: unknown) => {
        record.state = 'failed';
        record.error = error;
      },
    );
    await settle();
    checkInvariants(r);
  }
  toString = () => `acquire(${this.timeoutMs}${this.label === undefined ? '' : `, ${this.label}`})`;
}

class ReleaseCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly pick: number,
    readonly how: 'release' | 'releaseWithError' | 'destroy' | 'dirty' | 'label',
  ) {}
  check = () => true;
  async run(_m: Model, r: Real): Promise<void> {
    if (r.held.length > 0) {
      const i = this.pick % r.held.length;
      const handle = r.held[i] as PooledConnection<FakeConnection>;
      if (!handle.released) {
        r.held.splice(i, 1);
        if (this.how === 'release') handle.release();
        else if (this.how === 'releaseWithError') handle.release({ error: new Error('query failed') });
        else if (this.how === 'dirty') {
          handle.connection.dirty = true;
          handle.release();
        } else if (this.how === 'label') {
          handle.label = `tenant${this.pick % 2}`;
          handle.release();
        } else void handle.destroy();
      } else {
        r.held.splice(i, 1); // reclaimed by a forced close
      }
    }
    await settle();
    checkInvariants(r);
  }
  toString = () => `${this.how}(#${this.pick})`;
}

class AbortCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly pick: number) {}
  check = () => true;
  async run(_m: Model, r: Real): Promise<void> {
    const pending = r.acquires.filter((a) => a.state === 'pending');
    if (pending.length > 0) pending[this.pick % pending.length]?.controller.abort();
    await settle();
    checkInvariants(r);
  }
  toString = () => `abort(#${this.pick})`;
}

class AdvanceCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(_m: Model, r: Real): Promise<void> {
    await vi.advanceTimersByTimeAsync(this.ms);
    checkInvariants(r);
  }
  toString = () => `advance(${this.ms})`;
}

class FactoryModeCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly step: 'create' | 'validate' | 'reset' | 'close',
    readonly behaviour: 'ok' | 'fail' | 'hang',
  ) {}
  check = () => true;
  async run(_m: Model, r: Real): Promise<void> {
    const f = r.factory;
    if (this.step === 'create') f.createDefault = this.behaviour;
    else if (this.step === 'validate') f.validateBehaviour = this.behaviour;
    else if (this.step === 'reset') f.resetBehaviour = this.behaviour;
    else f.closeBehaviour = this.behaviour;
    await settle();
    checkInvariants(r);
  }
  toString = () => `${this.step}:${this.behaviour}`;
}

class SicknessCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly pick: number) {}
  check = () => true;
  async run(_m: Model, r: Real): Promise<void> {
    const open = [...r.factory.open];
    const victim = open[this.pick % Math.max(1, open.length)];
    if (victim !== undefined) {
      if (this.pick % 2 === 0) victim.healthy = false;
      else victim.markBroken(new Error('server closed the connection'));
    }
    await settle();
    checkInvariants(r);
  }
  toString = () => `sicken(#${this.pick})`;
}

const acquire = fc
  .tuple(fc.integer({ min: 1, max: 600 }), fc.option(fc.constantFrom('tenant0', 'tenant1'), { nil: undefined }))
  .map(([t, label]) => new AcquireCommand(t, label));
const release = fc
  .tuple(
    fc.nat(),
    fc.constantFrom('release', 'release', 'releaseWithError', 'destroy', 'dirty', 'label') as fc.Arbitrary<ReleaseCommand['how']>,
  )
  .map(([i, how]) => new ReleaseCommand(i, how));

// Acquire and release are listed several times so that they dominate the sequences.
const commands = [
  acquire,
  acquire,
  acquire,
  release,
  release,
  release,
  fc.nat().map((i) => new AbortCommand(i)),
  fc.integer({ min: 1, max: 400 }).map((ms) => new AdvanceCommand(ms)),
  fc
    .tuple(
      fc.constantFrom('create', 'validate', 'reset', 'close') as fc.Arbitrary<FactoryModeCommand['step']>,
      fc.constantFrom('ok', 'ok', 'fail', 'hang') as fc.Arbitrary<'ok' | 'fail' | 'hang'>,
    )
    .map(([step, b]) => new FactoryModeCommand(step, b)),
  fc.nat().map((i) => new SicknessCommand(i)),
];

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const seed = process.env.FC_SEED === undefined ? 20_261_126 : Number(process.env.FC_SEED);
const numRuns = Number(process.env.FC_RUNS ?? 150);

describe('ConnectionPool (model-based)', () => {
  it('keeps its invariants under random operations, faults and close', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.commands(commands, { maxCommands: 80, size: 'max' }),
        fc.record({
          minSize: fc.integer({ min: 0, max: 2 }),
          validateOnAcquire: fc.boolean(),
          validateOnRelease: fc.boolean(),
          fairQueue: fc.boolean(),
          recycling: fc.constantFrom(...Object.values(RecyclingStrategy)),
          maxWaitQueueSize: fc.integer({ min: 0, max: 6 }),
        }),
        async (cmds, cfg) => {
          const factory = new FakeFactory();
          const pool = ConnectionPool.open(
            {
              minSize: cfg.minSize,
              maxSize: MAX_SIZE,
              acquireTimeoutMs: 500,
              createTimeoutMs: CREATE_TIMEOUT,
              validationTimeoutMs: VALIDATION_TIMEOUT,
              resetTimeoutMs: RESET_TIMEOUT,
              closeTimeoutMs: CLOSE_TIMEOUT,
              validateOnAcquire: cfg.validateOnAcquire,
              validateOnRelease: cfg.validateOnRelease,
              fairQueue: cfg.fairQueue,
              maxWaitQueueSize: cfg.maxWaitQueueSize,
              maintenanceIntervalMs: 250,
              idleTimeoutMs: 700,
              maxLifetimeMs: 1_500,
              createRetryDelayMs: 20,
              createRetryMaxDelayMs: 200,
            },
            factory,
            { recyclingStrategy: cfg.recycling },
          );
          pool.on('error', () => {});
          const real: Real = { pool, factory, acquires: [], held: [], closed: false };
          try {
            await fc.asyncModelRun(() => ({ model: {}, real }), cmds);
            // Close with borrows outstanding: everything must still end closed.
            factory.createDefault = 'ok';
            let closed = false;
            const closing = pool.close().then(() => {
              closed = true;
            });
            // Waits up to CLOSE_TIMEOUT for borrows, then bounds each factory.close by CLOSE_TIMEOUT.
            await vi.advanceTimersByTimeAsync(2 * CLOSE_TIMEOUT + 1);
            expect(closed, 'close() finished within twice closeTimeoutMs').toBe(true);
            await closing;
            await vi.advanceTimersByTimeAsync(CREATE_TIMEOUT + 1);
            expect(pool.state).toBe('closed');
            expect(factory.open.size).toBe(0);
            for (const a of real.acquires) expect(a.state).not.toBe('pending');
            const s = pool.statistics();
            expect(s.connectionsCreated).toBe(s.connectionsDestroyed);
            expect(s.acquired).toBe(s.released);
            expect(factory.doubleCloses).toBe(0);
          } finally {
            if (pool.state !== 'closed') {
              const closing = pool.close();
              await vi.advanceTimersByTimeAsync(10_000);
              await closing;
            }
          }
        },
      ),
      { seed, numRuns },
    );
  }, 120_000);
});
