import { formatSoakReport, runSoak, type SoakOptions, soakFailures } from './soak.js';

/**
 * `pnpm --filter @pool/reliability soak [-- --duration 10m --seed 1 --backend simulated|pg --concurrency 48 --max-size 16]`
 *
 * Runs the soak, prints progress every 10 s and the report, and exits 1 on any loss, leak, hang or
 * stall (a window serving less than `--min-window-fraction` of the first). It always says why it ends:
 * the report, or a line naming the signal, the uncaught error or the exit code that ended it first.
 * Environment equivalents: SOAK_DURATION, SOAK_SEED, SOAK_BACKEND; `--backend pg` connects to PG_URL.
 * `--wedge never-settles@5s` (or `suspended@5s`) sabotages the pool at 5 s, to see the soak fail.
 */

const USAGE = `usage: soak [--duration <ms|Ns|Nm|Nh>] [--seed <n>] [--backend simulated|pg] [--concurrency <n>] [--max-size <n>] [--chaos-interval <ms>] [--window <duration>] [--min-window-fraction <0-1>] [--settle-grace <duration>] [--wedge never-settles|suspended@<duration>]`;

let reported = false;
let lastProgress = 'none';
process.on('exit', (code) => {
  if (reported) return;
  const why = code === 13 ? ' (the event loop emptied while the soak awaited a promise that never settled)' : '';
  console.error(`soak: exiting with code ${code} before its report${why}; last progress: ${lastProgress}`);
});
const fatal = (what: string, error: unknown): void => {
  console.error(`soak: FAIL: ${what}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
};
process.on('uncaughtException', (error) => fatal('uncaught exception', error));
process.on('unhandledRejection', (reason) => fatal('unhandled rejection', reason));
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.once(signal, () => {
    console.error(`soak: interrupted by ${signal}; last progress: ${lastProgress}`);
    process.exit(code);
  });
}

function duration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (m === null) throw new Error(`--duration: '${text}' is not a duration (e.g. 600000, 90s, 10m, 1h)`);
  const n = Number(m[1]);
  const unit = m[2] ?? 'ms';
  return Math.round(n * (unit === 'h' ? 3_600_000 : unit === 'm' ? 60_000 : unit === 's' ? 1_000 : 1));
}

function positive(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: '${text}' must be a positive integer`);
  return n;
}

function parse(argv: string[]): SoakOptions {
  const options: SoakOptions = {};
  if (process.env.SOAK_DURATION !== undefined) options.durationMs = duration(process.env.SOAK_DURATION);
  if (process.env.SOAK_SEED !== undefined) options.seed = positive('SOAK_SEED', process.env.SOAK_SEED);
  if (process.env.SOAK_BACKEND !== undefined) options.backend = process.env.SOAK_BACKEND as 'simulated' | 'pg';
  const args = argv.filter((a) => a !== '--');
  for (let i = 0; i < args.length; i++) {
    const flag = args[i] as string;
    const value = args[i + 1];
    if (flag === '--help' || flag === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    if (value === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
    i++;
    if (flag === '--duration') options.durationMs = duration(value);
    else if (flag === '--seed') options.seed = positive('--seed', value);
    else if (flag === '--backend') options.backend = value as 'simulated' | 'pg';
    else if (flag === '--concurrency') options.concurrency = positive('--concurrency', value);
    else if (flag === '--max-size') options.maxSize = positive('--max-size', value);
    else if (flag === '--chaos-interval') options.chaosIntervalMs = positive('--chaos-interval', value);
    else if (flag === '--window') options.windowMs = duration(value);
    else if (flag === '--settle-grace') options.settleGraceMs = duration(value);
    else if (flag === '--min-window-fraction') {
      const f = Number(value);
      if (!(f >= 0 && f <= 1)) throw new Error(`--min-window-fraction: '${value}' must be a number between 0 and 1`);
      options.minWindowFraction = f;
    } else if (flag === '--wedge') {
      const m = /^(never-settles|suspended)@(.+)$/.exec(value);
      if (m === null) throw new Error(`--wedge: '${value}' must be never-settles@<duration> or suspended@<duration>`);
      options.wedge = { how: m[1] as 'never-settles' | 'suspended', atMs: duration(m[2] as string) };
    } else throw new Error(`unknown option ${flag}\n${USAGE}`);
  }
  if (options.backend !== undefined && options.backend !== 'simulated' && options.backend !== 'pg') {
    throw new Error(`--backend: '${options.backend}' must be 'simulated' or 'pg'`);
  }
  return options;
}

let options: SoakOptions;
try {
  options = parse(process.argv.slice(2));
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}
const minutes = ((options.durationMs ?? 600_000) / 60_000).toFixed(1);
console.log(`soak: ${minutes} min against ${options.backend ?? 'simulated'} (seed ${options.seed ?? 1}); Ctrl-C aborts`);
try {
  const report = await runSoak({
    ...options,
    onProgress: (line) => {
      lastProgress = line;
      console.log(line);
    },
  });
  console.log(formatSoakReport(report));
  reported = true;
  process.exitCode = soakFailures(report).length === 0 ? 0 : 1;
} catch (error) {
  fatal('the soak itself threw', error);
}
