import { describe, expect, it } from 'vitest';
import { expectNoSecret, timeoutContext, useCleanup } from './adapter-test-helpers.js';
import { SimulatedFactory } from './simulated-factory.js';

describe('useCleanup', () => {
  const cleanup = useCleanup();
  const ran: string[] = [];
  const factory = new SimulatedFactory();

  it('defers cleanups and opens connections closed after the test', async () => {
    cleanup.defer(() => ran.push('first'));
    cleanup.defer(() => {
      throw new Error('already gone');
    });
    cleanup.defer(async () => ran.push('last'));
    const { conn, markBroken, factory: used } = await cleanup.open(factory);
    expect(used).toBe(factory);
    expect(conn.state).toBe('open');
    expect(markBroken).not.toHaveBeenCalled();
    expect(factory.connections()).toEqual([conn]);
  });

  it('ran them after the previous test, last first, past one that failed', () => {
    expect(ran).toEqual(['last', 'first']);
    expect(factory.connections()).toEqual([]);
  });
});

describe('timeoutContext', () => {
  it('gives a live signal that aborts later', () => {
    const { signal } = timeoutContext(60_000);
    expect(signal.aborted).toBe(false);
  });
});

describe('expectNoSecret', () => {
  it('passes when no rendering shows the secret', () => {
    expectNoSecret('hunter2', 'postgres://app:***@db/app', { hits: 1 }, new Error('connect ECONNREFUSED'), { toString: () => 'Foo(db)' });
  });

  it('fails naming the value and the rendering that showed it, without printing the secret', () => {
    class Holder {
      readonly #password = 'hunter2';
      toString(): string {
        return `Holder(${this.#password.length})`;
      }
    }
    expectNoSecret('hunter2', new Holder()); // private fields are not shown
    const check = (...values: unknown[]): string => {
      try {
        expectNoSecret('hunter2', ...values);
      } catch (error) {
        return (error as Error).message;
      }
      return 'passed';
    };
    expect(check({ password: 'hunter2' })).toBe('the secret shows in inspect(values[0]), JSON(values[0])');
    expect(check('ok', Object.assign(new Error('x'), { args: ['hunter2'] }))).toMatch(/inspect\(values\[1\]\)/);
    expect(check(new Error('bad password hunter2'))).toMatch(/message\(values\[0\]\)/);
    expect(check({ password: 'hunter2' })).not.toContain('hunter2');
  });

  it('refuses an empty secret, which every text contains', () => {
    expect(() => expectNoSecret('', 'x')).toThrow(/non-empty secret/);
  });
});
