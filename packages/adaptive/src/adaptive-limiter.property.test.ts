import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { snap } from './adaptive-limiter.js';
import { SimulatedTarget, seeded, simulatedLimiter } from './test-support/simulated-target.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

type Step =
  | { kind: 'run'; latencyMs: number; callers: number }
  | { kind: 'bounds'; min: number; max: number }
  | { kind: 'ceiling'; value: number | null }
  | { kind: 'errors' };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('run' as const),
      latencyMs: fc.double({ min: 0.01, max: 5_000, noNaN: true }),
      callers: fc.integer({ min: 0, max: 300 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('bounds' as const),
      min: fc.integer({ min: 1, max: 20 }),
      max: fc.integer({ min: 1, max: 80 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('ceiling' as const), value: fc.option(fc.integer({ min: -5, max: 100 }), { nil: null }) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'errors' as const }) },
);

describe('the adaptive limit, as a property', () => {
  it('stays a whole number within [minSize, min(maxSize, ceiling)] and never steps by more than maxStepRatio, whatever is measured', () => {
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 60 }),
        fc.constantFrom('gradient' as const, 'aimd' as const),
        fc.integer({ min: 1, max: 64 }),
        (steps, algorithm, initial) => {
          vi.clearAllTimers();
          const target = new SimulatedTarget(100);
          target.min = 2;
          target.max = 64;
          let ceiling: number | null = null;
          const limiter = simulatedLimiter(target, {
            algorithm,
            initialLimit: initial,
            warmupMs: 3_000,
            ceiling: () => ceiling,
            minSamples: 1,
          });
          const random = seeded(initial);
          let t = 0;
          for (const s of steps) {
            if (s.kind === 'bounds') {
              target.min = Math.min(s.min, s.max);
              target.max = Math.max(s.min, s.max);
            } else if (s.kind === 'ceiling') ceiling = s.value;
            else if (s.kind === 'errors') target.run(1000, () => 50, t, random, 0.05, 3);
            else {
              target.callers = s.callers;
              target.run(1000, () => s.latencyMs, t, random);
            }
            const before = limiter.limit;
            vi.advanceTimersByTime(1000);
            t += 1000;
            const stats = limiter.statistics();
            const limit = limiter.limit;
            expect(Number.isInteger(limit)).toBe(true);
            expect(limit).toBeGreaterThanOrEqual(target.min);
            expect(limit).toBeLessThanOrEqual(target.max);
            if (ceiling !== null && ceiling >= target.min) expect(limit).toBeLessThanOrEqual(ceiling);
            expect(stats.floor).toBeLessThanOrEqual(stats.ceiling);
            // A bounds change may move it any distance; otherwise one step at most (plus rounding).
            if (s.kind === 'run' && stats.ceiling >= before && stats.floor <= before) {
              expect(Math.abs(limit - before)).toBeLessThanOrEqual(Math.max(1, stats.estimate * 0.5) + 2);
            }
          }
          for (const a of target.applied) expect(Number.isInteger(a.limit)).toBe(true);
          limiter.stop();
        },
      ),
      { numRuns: 60, seed: Number(process.env.FC_SEED ?? 42) },
    );
    // Pure CPU (fake timers, a simulated database): about 1 s on an idle core, several times that
    // while a CI run keeps both cores busy. Nothing here waits, so the timeout only guards a hang.
  }, 120_000);

  it('rounds with hysteresis: the applied limit follows the estimate only once it is 0.75 away', () => {
    fc.assert(
      fc.property(fc.double({ min: 1, max: 1000, noNaN: true }), fc.integer({ min: 1, max: 1000 }), (estimate, applied) => {
        const next = snap(estimate, applied);
        expect(Number.isInteger(next)).toBe(true);
        if (Math.abs(estimate - applied) < 0.75) expect(next).toBe(applied);
        else expect(Math.abs(next - estimate)).toBeLessThanOrEqual(0.75);
      }),
    );
  });
});
