import type { ConnectionFactory, CreateContext, FactoryStatistics, OperationContext, ValidateContext } from '@pool/core';
import { InvalidArgumentError, InvalidConfigError } from '@pool/core';
import { InjectedFaultError } from './errors.js';
import { checkKeys, checkLatency, checkRate, delay, type Latency, sampleLatency } from './latency.js';
import { SeededRandom } from './random.js';

/** The factory operations faults can be injected into. */
export type FaultOperation = 'create' | 'validate' | 'reset' | 'close';

const OPERATIONS: readonly FaultOperation[] = ['create', 'validate', 'reset', 'close'];
/** Optional factory methods passed through unchanged (no faults are injected into them). */
const PASS_THROUGH = ['connectionMemoryBytes'] as const;

/** Probabilistic faults for one operation. Every field defaults to none. */
export interface FaultSpec {
  /** Probability that a call fails with {@link InjectedFaultError} (or `error()` when given). */
  failRate?: number;
  /** Probability that a call hangs until its signal aborts (or `releaseHangs()` is called). */
  hangRate?: number;
  /** Extra delay before every call (it still honours the call's signal). */
  delayMs?: Latency;
  /** Only for `validate`: probability that it resolves `false` (the connection is reported unusable). */
  invalidRate?: number;
  /** Makes the error a failing call rejects with. Default: a new `InjectedFaultError`. */
  error?: (operation: FaultOperation) => unknown;
}

/** Options of {@link withFaults}. */
export interface FaultOptions {
  /** Seed of the random generator behind the probabilities and delays. Default `1`. */
  seed?: number;
  create?: FaultSpec;
  validate?: FaultSpec;
  reset?: FaultSpec;
  close?: FaultSpec;
}

/** Steers the faults of a {@link FaultInjectingFactory} while a test runs. */
export interface FaultController {
  /** The next `count` calls of `operation` fail (with `error` when given, else `InjectedFaultError`). */
  failNext(operation: FaultOperation, count?: number, error?: unknown): void;
  /** The next `count` calls of `operation` hang until their signal aborts or `releaseHangs()` is called. */
  hangNext(operation: FaultOperation, count?: number): void;
  /** The next `count` validations resolve `false`. */
  invalidNext(count?: number): void;
  /** Replaces the probabilistic faults of `operation` (`{}` removes them). */
  configure(operation: FaultOperation, spec: FaultSpec): void;
  /** Removes every planned and probabilistic fault. Hung calls keep hanging (see `releaseHangs`). */
  clear(): void;
  /** Lets every hung call proceed to the real operation. Returns how many were released. */
  releaseHangs(): number;
  /** Calls per operation since the wrapper was made. */
  readonly calls: Readonly<Record<FaultOperation, number>>;
  /** Faults injected per operation (fail, hang or invalid). */
  readonly injected: Readonly<Record<FaultOperation, number>>;
  /** Calls hanging right now. */
  readonly hanging: number;
}

/** A factory wrapped by {@link withFaults}: the same contract, plus `faults` to steer it and `inner` to reach the original. */
export type FaultInjectingFactory<C> = ConnectionFactory<C> & {
  readonly faults: FaultController;
  readonly inner: ConnectionFactory<C>;
};

type Planned = { kind: 'fail'; error: unknown } | { kind: 'hang' } | { kind: 'invalid' };

interface Spec {
  failRate: number;
  hangRate: number;
  invalidRate: number;
  delayMs: Latency;
  error: ((operation: FaultOperation) => unknown) | null;
}

const SPEC_KEYS = ['failRate', 'hangRate', 'delayMs', 'invalidRate', 'error'];

function checkSpec(operation: FaultOperation, spec: unknown): Spec {
  const s = checkKeys(operation, spec, SPEC_KEYS) as FaultSpec;
  if (s.invalidRate !== undefined && operation !== 'validate') {
    throw new InvalidConfigError(`${operation}.invalidRate`, s.invalidRate, 'applies to validate only');
  }
  if (s.error !== undefined && typeof s.error !== 'function')
    throw new InvalidConfigError(`${operation}.error`, s.error, 'must be a function');
  return {
    failRate: s.failRate === undefined ? 0 : checkRate(`${operation}.failRate`, s.failRate),
    hangRate: s.hangRate === undefined ? 0 : checkRate(`${operation}.hangRate`, s.hangRate),
    invalidRate: s.invalidRate === undefined ? 0 : checkRate(`${operation}.invalidRate`, s.invalidRate),
    delayMs: s.delayMs === undefined ? 0 : checkLatency(`${operation}.delayMs`, s.delayMs),
    error: s.error ?? null,
  };
}

function checkOperation(operation: unknown, allowed: readonly FaultOperation[] = OPERATIONS): FaultOperation {
  if (!allowed.includes(operation as FaultOperation)) {
    throw new InvalidArgumentError('operation', operation, `must be one of ${allowed.map((o) => `'${o}'`).join(', ')}`);
  }
  return operation as FaultOperation;
}

function checkCount(count: unknown): number {
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) {
    throw new InvalidArgumentError('count', count, 'must be an integer >= 1');
  }
  return count;
}

/**
 * Wraps any `ConnectionFactory` so its operations can be made to fail, hang, slow down or (for
 * `validate`) report a connection unusable — on demand (`faults.failNext('create')`) or by probability
 * (`{ create: { failRate: 0.2 } }`, seeded). Use it to check that a pool, or code built on one, copes
 * with a misbehaving driver.
 *
 * What it guarantees so tests stay clean: an injected `create` fault happens before the real `create`
 * runs (no connection is opened); an injected `close` fault still closes the real connection first
 * (a hung close closes it once the hang is abandoned), so faults never leak real connections. The
 * wrapper has exactly the optional methods (`validate`, `reset`, `isDirty`, `statistics`) of the factory it wraps.
 *
 * @example
 * ```ts
 * const factory = withFaults(pgFactory(url), { seed: 3, validate: { invalidRate: 0.1 } });
 * const pool = await ConnectionPool.create({ maxSize: 4, validateOnAcquire: true }, factory);
 * factory.faults.failNext('create', 2);   // the next two connects fail
 * factory.faults.hangNext('reset');       // the next reset hangs until resetTimeoutMs
 * ```
 */
export function withFaults<C>(factory: ConnectionFactory<C>, options: FaultOptions = {}): FaultInjectingFactory<C> {
  if (typeof factory !== 'object' || factory === null || typeof factory.create !== 'function' || typeof factory.close !== 'function') {
    throw new InvalidArgumentError('factory', factory, 'must be a ConnectionFactory with create() and close()');
  }
  const opts = checkKeys('options', options, ['seed', ...OPERATIONS]) as FaultOptions;
  const seed = opts.seed ?? 1;
  if (typeof seed !== 'number' || !Number.isInteger(seed)) throw new InvalidConfigError('seed', seed, 'must be an integer');
  const random = new SeededRandom(seed);
  const specs = {} as Record<FaultOperation, Spec>;
  for (const op of OPERATIONS) specs[op] = checkSpec(op, opts[op] ?? {});
  const plans: Record<FaultOperation, Planned[]> = { create: [], validate: [], reset: [], close: [] };
  const calls: Record<FaultOperation, number> = { create: 0, validate: 0, reset: 0, close: 0 };
  const injected: Record<FaultOperation, number> = { create: 0, validate: 0, reset: 0, close: 0 };
  const hung = new Set<() => void>();

  const makeError = (op: FaultOperation): unknown => {
    const make = specs[op].error;
    return make === null ? new InjectedFaultError(op) : make(op);
  };

  /** Decides this call's fault: a planned one first, else by probability. */
  const decide = (op: FaultOperation): Planned | null => {
    const planned = plans[op].shift();
    if (planned !== undefined) return planned;
    const spec = specs[op];
    if (random.chance(spec.hangRate)) return { kind: 'hang' };
    if (random.chance(spec.failRate)) return { kind: 'fail', error: makeError(op) };
    if (op === 'validate' && random.chance(spec.invalidRate)) return { kind: 'invalid' };
    return null;
  };

  /** Hangs until released (resolves) or the signal aborts (rejects with its reason). */
  const hangUntil = (signal: AbortSignal): Promise<void> =>
    new Promise((resolve, reject) => {
      const release = (): void => {
        hung.delete(release);
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        hung.delete(release);
        reject(signal.reason);
      };
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      hung.add(release);
      signal.addEventListener('abort', onAbort, { once: true });
    });

  /** Applies delay and fault before the real call. Returns 'invalid' for an injected invalid validation. */
  const before = async (op: FaultOperation, signal: AbortSignal): Promise<'go' | 'invalid'> => {
    calls[op]++;
    const fault = decide(op);
    await delay(sampleLatency(specs[op].delayMs, random), signal);
    if (fault === null) return 'go';
    injected[op]++;
    if (fault.kind === 'fail') throw fault.error;
    if (fault.kind === 'invalid') return 'invalid';
    await hangUntil(signal);
    return 'go';
  };

  const faults: FaultController = {
    failNext(operation, count = 1, error) {
      const op = checkOperation(operation);
      const n = checkCount(count);
      for (let i = 0; i < n; i++) plans[op].push({ kind: 'fail', error: error ?? makeError(op) });
    },
    hangNext(operation, count = 1) {
      const op = checkOperation(operation);
      const n = checkCount(count);
      for (let i = 0; i < n; i++) plans[op].push({ kind: 'hang' });
    },
    invalidNext(count = 1) {
      const n = checkCount(count);
      for (let i = 0; i < n; i++) plans.validate.push({ kind: 'invalid' });
    },
    configure(operation, spec) {
      const op = checkOperation(operation);
      specs[op] = checkSpec(op, spec);
    },
    clear() {
      for (const op of OPERATIONS) {
        plans[op].length = 0;
        specs[op] = checkSpec(op, {});
      }
    },
    releaseHangs() {
      const all = [...hung];
      for (const release of all) release();
      return all.length;
    },
    get calls() {
      return { ...calls };
    },
    get injected() {
      return { ...injected };
    },
    get hanging() {
      return hung.size;
    },
  };

  const wrapped: ConnectionFactory<C> & { faults: FaultController; inner: ConnectionFactory<C> } = {
    faults,
    inner: factory,
    async create(ctx: CreateContext): Promise<C> {
      await before('create', ctx.signal);
      return factory.create(ctx);
    },
    async close(conn: C, ctx: OperationContext): Promise<void> {
      calls.close++;
      const fault = decide('close');
      if (fault !== null) injected.close++;
      if (fault?.kind === 'hang') {
        try {
          await hangUntil(ctx.signal);
        } finally {
          // The hang is over (released or abandoned): the real connection is closed either way.
          await factory.close(conn, ctx);
        }
        return;
      }
      await delay(sampleLatency(specs.close.delayMs, random), ctx.signal).catch(() => {});
      await factory.close(conn, ctx);
      if (fault?.kind === 'fail') throw fault.error;
    },
    toString(): string {
      return `FaultInjectingFactory(${String(factory)})`;
    },
  } as ConnectionFactory<C> & { faults: FaultController; inner: ConnectionFactory<C> };

  const validate = factory.validate;
  if (validate !== undefined) {
    wrapped.validate = async (conn: C, ctx: ValidateContext): Promise<boolean> => {
      if ((await before('validate', ctx.signal)) === 'invalid') return false;
      return validate.call(factory, conn, ctx);
    };
  }
  const reset = factory.reset;
  if (reset !== undefined) {
    wrapped.reset = async (conn: C, ctx: OperationContext): Promise<void> => {
      await before('reset', ctx.signal);
      return reset.call(factory, conn, ctx);
    };
  }
  const isDirty = factory.isDirty;
  if (isDirty !== undefined) wrapped.isDirty = (conn: C): boolean => isDirty.call(factory, conn);
  const statistics = factory.statistics;
  if (statistics !== undefined) wrapped.statistics = (): FactoryStatistics => statistics.call(factory);
  // Synchronous, fault-free hooks of newer factory contracts pass straight through.
  for (const name of PASS_THROUGH) {
    const fn = (factory as unknown as Record<string, unknown>)[name];
    if (typeof fn === 'function') (wrapped as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => fn.apply(factory, args);
  }
  return wrapped;
}
