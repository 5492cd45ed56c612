import type { ConnectionFactory, CreateContext, CreateErrorKind, OperationContext, ValidateContext } from '../factory.js';

/** A connection made by {@link FakeFactory}. */
export interface FakeConnection {
  readonly serial: number;
  closed: boolean;
  /** What the fake "server" says about it: validate() answers with this. */
  healthy: boolean;
  /** Session state a reset must clear. */
  dirty: boolean;
  uses: number;
  markBroken: (error?: unknown) => void;
}

type Behaviour = 'ok' | 'fail' | 'hang';

/**
 * A factory whose every step can be told to succeed, fail or hang, with optional delays on the fake
 * clock. It counts what it was asked and which connections are open, so tests can check that nothing
 * leaks and nothing is closed twice.
 */
export class FakeFactory implements ConnectionFactory<FakeConnection> {
  createDelayMs = 0;
  validateDelayMs = 0;
  resetDelayMs = 0;
  /** Behaviours for the next create() calls, then `createDefault`. */
  createPlan: Behaviour[] = [];
  createDefault: Behaviour = 'ok';
  validateBehaviour: Behaviour = 'ok';
  resetBehaviour: Behaviour = 'ok';
  closeBehaviour: Behaviour = 'ok';
  createError = new Error('ECONNREFUSED 127.0.0.1:5432');
  /** Report dirtiness through isDirty (set to false to remove the hook). */
  reportsDirty = true;

  readonly open = new Set<FakeConnection>();
  readonly all: FakeConnection[] = [];
  createCalls = 0;
  validateCalls = 0;
  resetCalls = 0;
  closeCalls = 0;
  doubleCloses = 0;
  /** Signals passed to create(), in call order. */
  readonly createSignals: AbortSignal[] = [];
  #serial = 0;

  async create(ctx: CreateContext): Promise<FakeConnection> {
    this.createCalls++;
    this.createSignals.push(ctx.signal);
    const behaviour = this.createPlan.shift() ?? this.createDefault;
    await this.#delay(this.createDelayMs, behaviour);
    if (behaviour === 'fail') throw this.createError;
    const conn: FakeConnection = {
      serial: ++this.#serial,
      closed: false,
      healthy: true,
      dirty: false,
      uses: 0,
      markBroken: ctx.markBroken,
    };
    this.open.add(conn);
    this.all.push(conn);
    return conn;
  }

  async validate(conn: FakeConnection, _ctx: ValidateContext): Promise<boolean> {
    this.validateCalls++;
    await this.#delay(this.validateDelayMs, this.validateBehaviour);
    if (this.validateBehaviour === 'fail') throw new Error('validate exploded');
    return conn.healthy && !conn.closed;
  }

  async reset(conn: FakeConnection, _ctx: OperationContext): Promise<void> {
    this.resetCalls++;
    await this.#delay(this.resetDelayMs, this.resetBehaviour);
    if (this.resetBehaviour === 'fail') throw new Error('reset exploded');
    conn.dirty = false;
  }

  isDirty(conn: FakeConnection): boolean {
    return this.reportsDirty ? conn.dirty : true;
  }

  async close(conn: FakeConnection, _ctx: OperationContext): Promise<void> {
    this.closeCalls++;
    if (conn.closed) this.doubleCloses++;
    conn.closed = true;
    this.open.delete(conn);
    if (this.closeBehaviour === 'fail') throw new Error('close exploded');
    if (this.closeBehaviour === 'hang') await new Promise(() => {});
  }

  #delay(ms: number, behaviour: Behaviour): Promise<void> {
    if (behaviour === 'hang') return new Promise(() => {});
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}

/**
 * A {@link FakeFactory} whose `classifyCreateError` answers `createErrorKind` (`'fatal'` by default) for
 * its own `createError`, and `'transient'` for anything else; it counts the questions.
 */
export class ClassifyingFakeFactory extends FakeFactory {
  createErrorKind: CreateErrorKind = 'fatal';
  classifyCalls = 0;

  classifyCreateError(error: unknown): CreateErrorKind {
    this.classifyCalls++;
    return error === this.createError ? this.createErrorKind : 'transient';
  }
}

/** Lets pending promise callbacks run without moving the (fake) clock. */
export async function flush(times = 20): Promise<void> {
  for (let i = 0; i < times; i++) await Promise.resolve();
}
