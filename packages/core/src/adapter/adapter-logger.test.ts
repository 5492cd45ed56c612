import { describe, expect, it } from 'vitest';
import { InvalidConfigError, type PoolLogger } from '../index.js';
import { adapterLog, checkOptionalLogger, poolLogger } from './adapter-logger.js';

function recording(): { logger: PoolLogger; lines: unknown[][] } {
  const lines: unknown[][] = [];
  const at =
    (level: string) =>
    (...args: unknown[]): void =>
      void lines.push([level, ...args]);
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

describe('adapter logger helpers', () => {
  it('accepts a logger with the four methods, null and undefined; refuses anything else naming the field', () => {
    const { logger } = recording();
    expect(checkOptionalLogger('logger', logger)).toBe(logger);
    expect(checkOptionalLogger('logger', console)).toBe(console);
    expect(checkOptionalLogger('logger', undefined)).toBeNull();
    expect(checkOptionalLogger('logger', null)).toBeNull();
    expect(() => checkOptionalLogger('logger', { info() {} })).toThrow(InvalidConfigError);
    expect(() => checkOptionalLogger('myLogger', 'console')).toThrow(/myLogger.*debug, info, warn and error/);
  });

  it('adds the fixed fields to each line, and does nothing without a logger', () => {
    const { logger, lines } = recording();
    adapterLog(logger, { server: 'postgres://db' })('warn', 'cut', { pid: 7 });
    expect(lines).toEqual([['warn', 'cut', { server: 'postgres://db', pid: 7 }]]);
    expect(() => adapterLog(null, { server: 'x' })('error', 'nothing', {})).not.toThrow();
  });

  it('takes one logger given either way, and refuses two different ones', () => {
    const a = recording().logger;
    const b = recording().logger;
    expect(poolLogger(a, undefined)).toBe(a);
    expect(poolLogger(undefined, a)).toBe(a);
    expect(poolLogger(a, a)).toBe(a);
    expect(poolLogger(undefined, undefined)).toBeNull();
    expect(() => poolLogger(a, b)).toThrow(/logger.*conflicts with poolOptions\.logger/);
    expect(() => poolLogger({ warn() {} }, undefined)).toThrow(InvalidConfigError);
  });
});
