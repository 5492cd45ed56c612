import type { ConnectionFactory } from '@pool/core';
import { describe, expect, it } from 'vitest';
import { testAdapter } from './conformance.js';
import { type AdapterTestOptions, CHECKS, Harness, resolveOptions } from './conformance-checks.js';
import { type SimulatedConnection, SimulatedFactory } from './simulated-factory.js';

const respond = (sql: string): unknown[] => {
  if (sql.includes('no_such_column')) throw new Error('column "no_such_column" does not exist');
  return [{ '?column?': 1 }];
};

const simulated: AdapterTestOptions<SimulatedConnection> = {
  name: 'SimulatedFactory',
  factory: () => new SimulatedFactory({ respond }),
  ping: (conn) => conn.query('SELECT 1'),
  killConnection: async (conn) => {
    conn.kill();
  },
  setSessionState: async (conn) => {
    await conn.query("SET application_name = 'conformance'");
  },
  readSessionState: async (conn) => (await conn.query('SHOW application_name')).rows,
  beginTransaction: async (conn) => {
    await conn.query('BEGIN');
  },
  inTransaction: async (conn) => conn.inTransaction,
  validationQueries: { valid: 'SELECT 1', invalid: 'SELECT no_such_column' },
  unreachableFactory: () => new SimulatedFactory({ connectFailureRate: 1 }),
  capabilities: { dirtyTracking: true, statistics: true },
  additionalTests(ctx) {
    it('gives additional tests the same harness', async () => {
      const { conn } = await ctx.open();
      expect(conn.state).toBe('open');
      const pool = await ctx.pool({ maxSize: 1 });
      await pool.use((c) => c.query('SELECT 1'));
    });
  },
};

// The suite itself, as every adapter runs it.
testAdapter(simulated);

/** Runs one named check against `options`, the way testAdapter would, and cleans up. */
async function runCheck<C>(name: string, options: AdapterTestOptions<C>): Promise<void> {
  const check = CHECKS.find((c) => c.name === name);
  if (check === undefined) throw new Error(`no check named ${name}`);
  const resolved = resolveOptions(options);
  expect(check.applies(resolved as never)).toBe(true);
  const h = new Harness(resolved);
  try {
    await check.run(h as Harness<unknown>);
  } finally {
    await h.dispose();
  }
}

/** A simulated factory with one method replaced by a broken one. */
function broken(patch: (f: SimulatedFactory) => void): () => ConnectionFactory<SimulatedConnection> {
  return () => {
    const f = new SimulatedFactory({ respond });
    patch(f);
    return f;
  };
}

const fast = { ...simulated, detectionTimeoutMs: 200 };

describe('the conformance checks catch broken adapters', () => {
  it('a reset that leaves session state behind fails the reset check', async () => {
    const factory = broken((f) => {
      f.reset = async () => {};
    });
    await expect(runCheck('reset restores the session state a borrower changed', { ...fast, factory })).rejects.toThrow();
    await expect(runCheck('reset rolls back an open transaction', { ...fast, factory })).rejects.toThrow();
  });

  it('a validate that trusts every connection fails the killed-connection check', async () => {
    const factory = broken((f) => {
      f.validate = async () => true;
    });
    await expect(runCheck('validate reports a connection killed by the server as unusable', { ...fast, factory })).rejects.toThrow();
  });

  it('a validate that ignores its query fails the validation-query check', async () => {
    const factory = broken((f) => {
      f.validate = async (conn) => conn.state === 'open';
    });
    await expect(runCheck("validate runs the validator's query and fails when that query fails", { ...fast, factory })).rejects.toThrow();
  });

  it('a factory that never calls markBroken fails the idle-error check', async () => {
    const factory = (): ConnectionFactory<SimulatedConnection> => {
      const f = new SimulatedFactory({ respond });
      const create = f.create.bind(f);
      f.create = (ctx) => create({ signal: ctx.signal, markBroken: () => {} });
      return f;
    };
    await expect(runCheck('reports an idle connection killed by the server through markBroken', { ...fast, factory })).rejects.toThrow();
  });

  it('a create that ignores its signal fails the abort check', async () => {
    const factory = (): ConnectionFactory<SimulatedConnection> => {
      const f = new SimulatedFactory({ respond });
      const create = f.create.bind(f);
      f.create = (ctx) => create({ signal: new AbortController().signal, markBroken: ctx.markBroken });
      return f;
    };
    await expect(runCheck('create rejects when its signal is already aborted', { ...fast, factory })).rejects.toThrow();
  });

  it('an isDirty that always says clean fails the dirty-tracking checks', async () => {
    const factory = broken((f) => {
      f.isDirty = () => false;
    });
    await expect(
      runCheck('isDirty tracks session state: clean when fresh, dirty after a change, clean after reset', { ...fast, factory }),
    ).rejects.toThrow();
    await expect(runCheck('isDirty reports an open transaction', { ...fast, factory })).rejects.toThrow();
  });

  it('a close that leaves the connection usable fails the close check', async () => {
    const factory = broken((f) => {
      f.close = async () => {};
    });
    await expect(runCheck('close ends the connection, so it no longer answers', { ...fast, factory })).rejects.toThrow();
  });

  it('a secret shown by toString fails the secret check', async () => {
    const factory = broken((f) => {
      f.toString = () => 'SimulatedFactory(password=hunter2)';
    });
    await expect(
      runCheck('never shows the secret in toString, inspect or statistics', { ...fast, factory, secret: 'hunter2' }),
    ).rejects.toThrow('the secret shows in String(values[0])');
  });

  it('a correct adapter passes the same checks', async () => {
    await runCheck('reset restores the session state a borrower changed', fast);
    await runCheck('never shows the secret in toString, inspect or statistics', { ...fast, secret: 'hunter2' });
  });
});

describe('testAdapter options', () => {
  it('rejects unknown options and capabilities, naming them', () => {
    expect(() => resolveOptions({ ...simulated, pingg: () => {} } as never)).toThrow(/pingg .*is not a testAdapter option/);
    expect(() => resolveOptions({ ...simulated, capabilities: { reset: true, resett: true } } as never)).toThrow(/capabilities.resett/);
    expect(() => resolveOptions({ ...simulated, capabilities: { reset: 'yes' } } as never)).toThrow(
      /capabilities.reset = "yes": must be true or false/,
    );
  });

  it('requires the session and transaction hooks in pairs, and a ping', () => {
    expect(() => resolveOptions({ ...simulated, readSessionState: undefined } as never)).toThrow(/setSessionState/);
    expect(() => resolveOptions({ ...simulated, inTransaction: undefined } as never)).toThrow(/beginTransaction/);
    expect(() => resolveOptions({ ...simulated, ping: undefined } as never)).toThrow(/ping/);
    expect(() => resolveOptions({ ...simulated, secret: 'x' })).toThrow(/secret/);
  });

  it('fills capability defaults', () => {
    const { capabilities } = resolveOptions({ name: 'x', factory: new SimulatedFactory(), ping: async () => {} });
    expect(capabilities).toEqual({
      validate: true,
      reset: true,
      dirtyTracking: false,
      abortCreate: true,
      idleErrorDetection: true,
      statistics: false,
    });
  });
});
