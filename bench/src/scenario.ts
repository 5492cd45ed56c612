import type { RunOptions } from './measure.js';

/** A figure a scenario reports, and how to show it. */
export interface Metric {
  /** Key in the measured record. */
  key: string;
  /** Column heading. */
  label: string;
  /** Digits after the point in the table. */
  digits: number;
  /** How rounds are combined: the median (default), or the worst (max) when a bound must hold every time. */
  combine?: 'median' | 'max';
}

/** One benchmark scenario: which subjects it runs and how one subject is measured in a child process. */
export interface Scenario {
  /** Short id used on the command line (`--scenario 2a`). */
  id: string;
  title: string;
  /** One or two sentences: what is measured, and how. */
  description: string;
  /** The subjects, in table order. */
  subjects: readonly string[];
  /** The metric ratios are computed on; time per operation, lower is better. */
  primary: string;
  /** Every metric shown in the table (the primary first). */
  metrics: readonly Metric[];
  /** The subjects the ratios are taken against (absent: no such column). */
  floor?: string;
  baseline?: string;
  /** At most this many rounds, whatever `--rounds` says (for scenarios whose one round takes long). */
  maxRounds?: number;
  /** Checked in the parent before any child starts: why the scenario cannot run here, or null. */
  unavailable?(): Promise<string | null>;
  /** Measures one subject, in a fresh child process. */
  run(subject: string, opts: RunOptions): Promise<Record<string, number>>;
}
