import { InvalidConfigError } from '@pool/core';
import { describe, expect, it } from 'vitest';
import { AimdLimit } from './aimd-limit.js';
import type { IntervalSample, LimitState } from './limit-algorithm.js';

const sample = (over: Partial<IntervalSample>): IntervalSample => ({
  durationMs: 1000,
  completed: 100,
  latencyMs: 1,
  throughput: 100,
  inflight: 0,
  peakInflight: 0,
  waited: 0,
  waiting: 0,
  errors: 0,
  ...over,
});
const state = (limit: number, floor = 20, ceiling = 200): LimitState => ({ limit, applied: limit, floor, ceiling, warmingUp: false });

// Ported from Netflix concurrency-limits' AIMDLimitTest: same scenarios and expected limits. Their
// defaults (minLimit 20, maxLimit 200) are the floor and ceiling passed in; a sample is one interval.
describe('AimdLimit (scenarios of Netflix AIMDLimitTest)', () => {
  it('testDefault: starts from the initial limit', () => {
    // The limiter sets the initial limit; the algorithm keeps it when nothing happened.
    expect(new AimdLimit().update(sample({}), state(10, 1)).limit).toBe(10);
  });

  it('increaseOnSuccess: a fast interval with half the limit in use adds one', () => {
    expect(new AimdLimit().update(sample({ latencyMs: 1, peakInflight: 10 }), state(20)).limit).toBe(21);
  });

  it('decreaseOnDrops: an interval with a failed borrow multiplies by 0.9', () => {
    const d = new AimdLimit().update(sample({ latencyMs: 0, peakInflight: 0, errors: 1 }), state(30));
    expect(d).toEqual({ limit: 27, reason: 'errors', gradient: null });
  });

  it('successOverflow: stays at the maximum after a success', () => {
    expect(new AimdLimit().update(sample({ latencyMs: 1, peakInflight: 10 }), state(21, 0, 21)).limit).toBe(21);
  });
});

describe('AimdLimit', () => {
  it('treats a mean use time above latencyThresholdMs as a drop', () => {
    const aimd = new AimdLimit({ latencyThresholdMs: 100, backoffRatio: 0.5 });
    expect(aimd.update(sample({ latencyMs: 150, waited: 3 }), state(40, 1)).limit).toBe(20);
    expect(aimd.update(sample({ latencyMs: 150, waited: 3 }), state(20, 1)).reason).toBe('latency');
  });

  it('grows while callers wait, never past the ceiling, and backs off never below the floor', () => {
    const aimd = new AimdLimit({ increase: 2 });
    expect(aimd.update(sample({ waited: 1 }), state(10, 1, 11)).limit).toBe(11);
    expect(aimd.update(sample({ errors: 5 }), state(3, 3, 11)).limit).toBe(3);
  });

  it('rejects a backoff ratio outside [0.5, 1), naming it', () => {
    expect(() => new AimdLimit({ backoffRatio: 1 })).toThrow(InvalidConfigError);
    expect(() => new AimdLimit({ backoffRatio: 0.4 })).toThrow(/aimd.backoffRatio = 0.4: must be a number >= 0.5 and < 1/);
  });
});
