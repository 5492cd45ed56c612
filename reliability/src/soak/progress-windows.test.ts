import { describe, expect, it } from 'vitest';
import { CallLedger } from './call-ledger.js';
import { ProgressWindows, progressFailures } from './progress-windows.js';

describe('progress windows', () => {
  it('counts served acquires per window of the clock, leaving out a last partial window', () => {
    const w = new ProgressWindows(1_000, 500);
    expect(w.lastFull(1_400)).toBeUndefined();
    w.record(500);
    w.record(1_499);
    w.record(3_200);
    w.record(4_000); // in the fourth window, which a 3.5 s run leaves out (partial)
    expect(w.served(3_500)).toEqual([2, 0, 1]);
    expect(w.served(2_500)).toEqual([2, 0]);
    expect(w.lastFull(2_600)).toBe(0);
    expect(w.lastFull(3_600)).toBe(1);
    expect(() => new ProgressWindows(0, 0)).toThrow(/windowMs: 0 must be/);
  });

  it('fails every window below the fraction of the first, and a first window that served nothing', () => {
    expect(progressFailures([100, 60, 10, 9], 5_000, 0.1)).toEqual([`window 4 (15-20 s) served 9, below 10% of the first window's 100`]);
    expect(progressFailures([100, 100, 100], 5_000, 0.1)).toEqual([]);
    expect(progressFailures([0, 50], 5_000, 0.1)).toEqual(['no acquire was served in the first 5000 ms window']);
    expect(progressFailures([], 5_000, 0.1)).toEqual([]);
    expect(progressFailures([10], 5_000, 0.1)).toEqual([]);
  });
});

describe('CallLedger', () => {
  it('counts unsettled calls and connections not given back, and doubles', () => {
    const ledger = new CallLedger();
    const a = ledger.start();
    const b = ledger.start();
    ledger.start();
    ledger.settle(a);
    ledger.settle(b);
    ledger.settle(b);
    const giveBack = ledger.borrow();
    ledger.borrow();
    giveBack();
    giveBack();
    expect(ledger).toMatchObject({ started: 3, settled: 2, settledTwice: 1, borrowed: 2, returned: 1, returnedTwice: 1 });
    expect(ledger.unsettled).toBe(1);
    expect(ledger.outstanding).toBe(1);
    expect(ledger.unsettledOlderThan(60_000)).toBe(0);
  });
});
