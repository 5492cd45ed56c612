import { describe, expect, it } from 'vitest';
import { markdownTable, type ScenarioInfo, summarizeScenario, tableRows } from './report.js';
import { checkTargets } from './targets.js';

const info = (id: string, subjects: string[], extra: Partial<ScenarioInfo> = {}): ScenarioInfo => ({
  id,
  title: `scenario ${id}`,
  description: '',
  subjects,
  primary: 'nsPerOp',
  metrics: [{ key: 'nsPerOp', label: 'ns/op', digits: 0 }],
  floor: 'floor',
  baseline: 'generic-pool',
  ...extra,
});

const ns = (...values: (number | null)[]) => values.map((v) => (v === null ? null : { nsPerOp: v }));

describe('summarizeScenario', () => {
  it('gives each subject its median, spread and paired ratios to the floor and the baseline', () => {
    const r = summarizeScenario(info('1', ['floor', 'core', 'generic-pool']), {
      floor: ns(100, 110, 90),
      core: ns(150, 160, 140),
      'generic-pool': ns(600, 700, 500),
    });
    const core = r.subjects.find((s) => s.subject === 'core');
    expect(core?.metrics.nsPerOp?.median).toBe(150);
    expect(core?.metrics.nsPerOp?.min).toBe(140);
    expect(core?.timeVsFloor?.median).toBe(1.5);
    expect(core?.speedVsBaseline?.median).toBe(4);
  });

  it('counts only the rounds that produced figures and keeps the failures', () => {
    const r = summarizeScenario(info('1', ['floor', 'core']), { floor: ns(100, 100), core: ns(null, 200) }, { core: ['boom'] });
    const core = r.subjects.find((s) => s.subject === 'core');
    expect(core?.rounds).toBe(1);
    expect(core?.errors).toEqual(['boom']);
    expect(core?.timeVsFloor?.median).toBe(2);
  });

  it('reports the worst round for metrics that must hold every time', () => {
    const scenario = info('5', ['core'], {
      metrics: [{ key: 'lateMaxMs', label: 'late', digits: 1, combine: 'max' }],
      primary: 'lateMaxMs',
    });
    const r = summarizeScenario(scenario, { core: [{ lateMaxMs: 1 }, { lateMaxMs: 9 }, { lateMaxMs: 2 }] });
    expect(r.subjects[0]?.metrics.lateMaxMs?.value).toBe(9);
  });
});

describe('tables', () => {
  it('render a header, an alignment row and one row per subject', () => {
    const r = summarizeScenario(info('1', ['floor', 'core', 'generic-pool']), {
      floor: ns(100),
      core: ns(1_500),
      'generic-pool': ns(3_000),
    });
    const md = markdownTable(tableRows(r)).split('\n');
    expect(md).toHaveLength(5);
    expect(md[0]).toContain('× floor (time)');
    expect(md[0]).toContain('faster than generic-pool');
    expect(md[3]).toBe('| core | 1,500 | 1,500–1,500 | 15.00× | 2.00× |');
  });
});

describe('checkTargets', () => {
  const results = {
    '1': summarizeScenario(info('1', ['floor', 'core', 'generic-pool']), {
      floor: ns(100, 100),
      core: ns(140, 160),
      'generic-pool': ns(400, 400),
    }),
    '2b': summarizeScenario(info('2b', ['floor', 'core', 'generic-pool', 'tarn']), {
      floor: ns(700),
      core: ns(1_000),
      'generic-pool': ns(2_000),
      tarn: ns(1_400),
    }),
  };
  const targets = checkTargets(results);
  const byId = (id: string) => targets.find((t) => t.id === id);

  it('marks a target met or missed from the paired ratios', () => {
    expect(byId('1-floor')?.status).toBe('met');
    expect(byId('1-throughput')?.status).toBe('met');
    expect(byId('1-throughput')?.actual).toContain('2.68×');
  });

  it('compares with the fastest peer that was measured', () => {
    expect(byId('2b-peers')?.status).toBe('missed');
    expect(byId('2b-peers')?.actual).toContain('1.40× tarn');
    expect(byId('2b-floor')?.status).toBe('missed');
  });

  it('reads the routing overhead of scenario 6r from the worse of its write and read ratios', () => {
    const routing = summarizeScenario(info('6r', ['@pool/pg', 'replica write', 'replica read'], { floor: '@pool/pg' }), {
      '@pool/pg': ns(100, 100),
      'replica write': ns(102, 103),
      'replica read': ns(103, 105),
    });
    const t = checkTargets({ '6r': routing }).find((x) => x.id === '6r-overhead');
    expect(t?.status).toBe('met');
    expect(t?.actual).toContain('4.0%');
  });

  it('reads the observability overhead from the paired monitored / bare ratio', () => {
    const seven = summarizeScenario(info('7', ['core', 'core+monitoring'], { floor: 'core' }), {
      core: ns(100, 100),
      'core+monitoring': ns(104, 106),
    });
    const t = checkTargets({ '7': seven }).find((x) => x.id === '7-overhead');
    expect(t?.status).toBe('met');
    expect(t?.actual).toContain('4.8%');
  });

  it('wants no Redis call at all per borrow through a cluster budget, in any round', () => {
    const nine = (...calls: number[]) =>
      checkTargets({
        '9a': summarizeScenario(
          info('9a', ['core', 'core+cluster'], {
            metrics: [
              { key: 'nsPerOp', label: 'ns/op', digits: 0 },
              { key: 'redisCallsPerOp', label: 'Redis calls/op', digits: 4 },
            ],
            baseline: 'core',
          }),
          {
            core: calls.map(() => ({ nsPerOp: 100, redisCallsPerOp: 0 })),
            'core+cluster': calls.map((c) => ({ nsPerOp: 110, redisCallsPerOp: c })),
          },
        ),
      }).find((x) => x.id === '9a-redis');
    expect(nine(0, 0, 0)?.status).toBe('met');
    expect(nine(0, 0, 0)?.actual).toContain('no Redis calls per borrow');
    expect(nine(0, 0.0005, 0)?.status).toBe('missed');
  });

  it('says which targets this run did not measure', () => {
    expect(byId('6-pg.Pool')?.status).toBe('not measured');
    expect(byId('7-overhead')?.status).toBe('not measured');
  });
});
