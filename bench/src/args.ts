import { parseArgs } from 'node:util';
import type { RunOptions } from './measure.js';

/** What the command line asked for. */
export interface CliOptions {
  /** Scenario ids to run, in the registry's order; empty: all. */
  scenarios: string[];
  /** Subject names to keep; empty: all of each scenario. */
  subjects: string[];
  rounds: number;
  run: RunOptions;
  /** Where the JSON goes. */
  out: string;
  /** Write a V8 CPU profile of every child into this folder. */
  cpuProf: string | null;
  help: boolean;
}

export const USAGE = `Usage: node dist/cli.js [options]

  --smoke              a few seconds end to end: 1 round, tiny budgets and sizes (figures meaningless)
  --rounds N           interleaved rounds per scenario (default 7; smoke 1)
  --scenario IDS       comma-separated scenario ids (default: all), e.g. 1,2a,5
  --subject NAMES      comma-separated subjects to keep (default: all), e.g. core,floor
  --time MS            measuring budget per subject per round (default 1000; smoke 40)
  --warmup MS          warm-up budget before it (default 300; smoke 20)
  --scale X            size factor of the fixed-size scenarios (default 1; smoke 0.02)
  --out FILE           JSON results (default results/latest.json; smoke results/smoke.json)
  --cpu-prof DIR       write a .cpuprofile of every child into DIR
  --help`;

function positiveNumber(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got '${value}'`);
  return n;
}

function list(value: string | undefined): string[] {
  return value === undefined
    ? []
    : value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
}

/** Parses the harness's command line (without the node and script arguments). Throws on bad input. */
export function parseCli(argv: readonly string[]): CliOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      smoke: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      scenario: { type: 'string' },
      subject: { type: 'string' },
      time: { type: 'string' },
      warmup: { type: 'string' },
      scale: { type: 'string' },
      out: { type: 'string' },
      'cpu-prof': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  const smoke = values.smoke === true;
  const rounds = positiveNumber('rounds', values.rounds, smoke ? 1 : 7);
  if (!Number.isInteger(rounds)) throw new Error(`--rounds must be a whole number, got '${values.rounds}'`);
  return {
    scenarios: list(values.scenario),
    subjects: list(values.subject),
    rounds,
    run: {
      timeMs: positiveNumber('time', values.time, smoke ? 40 : 1_000),
      warmupMs: positiveNumber('warmup', values.warmup, smoke ? 20 : 300),
      scale: positiveNumber('scale', values.scale, smoke ? 0.02 : 1),
      smoke,
    },
    out: values.out ?? (smoke ? 'results/smoke.json' : 'results/latest.json'),
    cpuProf: values['cpu-prof'] ?? null,
    help: values.help === true,
  };
}

/** The subjects of round `round` (0-based): the list rotated by one per round, so no library always runs first. */
export function roundOrder<T>(subjects: readonly T[], round: number): T[] {
  const n = subjects.length;
  if (n === 0) return [];
  const k = ((round % n) + n) % n;
  return [...subjects.slice(k), ...subjects.slice(0, k)];
}
