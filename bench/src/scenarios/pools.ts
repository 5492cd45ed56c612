import { measureBatches, type RunOptions } from '../measure.js';
import type { Metric, Scenario } from '../scenario.js';
import { type Adapter, makeAdapter, POOL_SUBJECTS, type PoolParams, type PoolSubject } from '../subjects.js';

const THROUGHPUT: readonly Metric[] = [
  { key: 'nsPerOp', label: 'ns/op', digits: 0 },
  { key: 'relMad', label: 'in-run MAD', digits: 3 },
];

function poolSubject(subject: string): PoolSubject {
  if (!(POOL_SUBJECTS as readonly string[]).includes(subject)) throw new Error(`unknown subject '${subject}'`);
  return subject as PoolSubject;
}

/** One caller: acquire, release, `n` times in a row. */
async function sequential(a: Adapter, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const c = await a.acquire();
    a.release(c);
  }
}

/** `callers` concurrent callers, each doing `n` times: acquire, one microtask of work, release. */
function concurrent(a: Adapter, callers: number, n: number): Promise<unknown> {
  const caller = async (): Promise<void> => {
    for (let i = 0; i < n; i++) {
      const c = await a.acquire();
      await Promise.resolve();
      a.release(c);
    }
  };
  const runs: Promise<void>[] = new Array(callers);
  for (let i = 0; i < callers; i++) runs[i] = caller();
  return Promise.all(runs);
}

async function measureSequential(subject: PoolSubject, params: PoolParams, opts: RunOptions, batch: number) {
  const a = await makeAdapter(subject, params);
  const r = await measureBatches(() => sequential(a, batch), batch, opts);
  await a.close();
  return { nsPerOp: r.nsPerOp, relMad: r.relMad };
}

/** Scenario 1: one caller, an idle connection always free. The pure cost of an acquire + release. */
export const uncontended: Scenario = {
  id: '1',
  title: 'Uncontended acquire + release',
  description: 'One caller acquires and releases in a loop; an idle connection is always free (maxSize 10, all warm).',
  subjects: POOL_SUBJECTS,
  primary: 'nsPerOp',
  metrics: THROUGHPUT,
  floor: 'floor',
  baseline: 'generic-pool',
  run: (subject, opts) => measureSequential(poolSubject(subject), { max: 10, warm: 1 }, opts, 2_000),
};

function contended(id: string, callers: number, perCaller: number): Scenario {
  return {
    id,
    title: `${callers.toLocaleString('en-US')} concurrent callers over maxSize 10`,
    description: `${callers.toLocaleString('en-US')} callers loop acquire, one awaited microtask of work, release, over 10 warm connections; time per acquire.`,
    subjects: POOL_SUBJECTS,
    primary: 'nsPerOp',
    metrics: THROUGHPUT,
    floor: 'floor',
    baseline: 'generic-pool',
    run: async (subject, opts) => {
      const a = await makeAdapter(poolSubject(subject), { max: 10 });
      const r = await measureBatches(() => concurrent(a, callers, perCaller), callers * perCaller, opts);
      await a.close();
      return { nsPerOp: r.nsPerOp, relMad: r.relMad };
    },
  };
}

/** Scenario 2: 100 callers (2a) and 1,000 callers (2b) share 10 connections. */
export const contended100 = contended('2a', 100, 50);
export const contended1000 = contended('2b', 1_000, 10);

/** Scenario 3: every release closes the connection and the next acquire gets a newly opened one. */
export const churn: Scenario = {
  id: '3',
  title: 'Create/destroy churn (every borrow gets a new connection)',
  description:
    'One caller loops acquire + release where every release closes the connection (core: RecyclingStrategy.Replace; generic-pool: destroy(); pg-pool: release(true); tarn: marked invalid, replaced on the next acquire; floor: destroy + create). Opening and closing cost one microtask each.',
  subjects: POOL_SUBJECTS,
  primary: 'nsPerOp',
  metrics: THROUGHPUT,
  floor: 'floor',
  baseline: 'generic-pool',
  run: (subject, opts) => measureSequential(poolSubject(subject), { max: 10, warm: 1, replace: true }, opts, 100),
};

/** Scenario 4: validate on borrow, every time and with core's fast validation. */
export const validateOnBorrow: Scenario = {
  id: '4',
  title: 'Validate on borrow',
  description:
    'One caller loops acquire + release with validation on borrow (an async check costing one microtask): core with validateOnAcquire (every borrow) and with ConnectionValidator().withFastValidation(true) (core-fast: skips the check for a connection used successfully within 500 ms); generic-pool testOnBorrow; tarn validate; floor awaits the check itself. pg-pool has no validate-on-borrow.',
  subjects: ['floor', 'core', 'core-fast', 'generic-pool', 'tarn'],
  primary: 'nsPerOp',
  metrics: THROUGHPUT,
  floor: 'floor',
  baseline: 'generic-pool',
  run: (subject, opts) => {
    if (subject === 'core-fast') return measureSequential('core', { max: 10, validate: 'fast' }, opts, 2_000);
    return measureSequential(poolSubject(subject), { max: 10, validate: 'every' }, opts, 2_000);
  },
};
