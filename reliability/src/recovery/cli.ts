import { loadavg } from 'node:os';
import { PrivatePostgres } from '@pool/test-servers';
import { formatRecovery, measureRecovery, type Outage, outageName, type PoolKind, type RecoveryRun, recoveryFailures } from './recovery.js';

/**
 * `pnpm recovery [-- --repeat 3 --callers 8]`
 *
 * On a private PostgreSQL (initdb in a temporary directory, a free port; removed at the end), runs the
 * same callers against @pool's createPgPool and pg.Pool through three outages: stopped for 1 s,
 * stopped for 10 s, crashed (`pg_ctl restart -m immediate`). Prints, per run, how long after the server
 * was back the first call succeeded and how many connect attempts the pool made during the outage;
 * exits 1 when @pool breaks its bounds (recovery median ≤ 250 ms, max ≤ 500 ms; during the outage at
 * most one connect attempt per 100 ms, and one in flight).
 */

const USAGE = 'usage: recovery [--repeat <n>] [--callers <n>]';

function parse(argv: string[]): { repeat: number; callers: number } {
  const out = { repeat: 3, callers: 8 };
  const args = argv.filter((a) => a !== '--');
  for (let i = 0; i < args.length; i += 2) {
    const flag = args[i] as string;
    const n = Number(args[i + 1]);
    if (flag !== '--repeat' && flag !== '--callers') throw new Error(`unknown option ${flag}\n${USAGE}`);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: '${String(args[i + 1])}' must be a positive integer`);
    out[flag === '--repeat' ? 'repeat' : 'callers'] = n;
  }
  return out;
}

let options: { repeat: number; callers: number };
try {
  options = parse(process.argv.slice(2));
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}

const OUTAGES: Outage[] = [{ kind: 'stop', downMs: 1_000 }, { kind: 'stop', downMs: 10_000 }, { kind: 'crash' }];
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');
console.log(
  `recovery: ${options.repeat} x (stop 1 s, stop 10 s, crash), ${options.callers} callers, @pool and pg.Pool in turn; load average ${load()}`,
);

const server = await PrivatePostgres.start();
const runs: RecoveryRun[] = [];
const stop = (): void => {
  // Ctrl-C: remove the private server before leaving.
  void server.destroy().finally(() => process.exit(130));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
try {
  for (let round = 0; round < options.repeat; round++) {
    for (const outage of OUTAGES) {
      // Alternate which pool goes first, so neither always meets a freshly started server.
      const order: PoolKind[] = round % 2 === 0 ? ['@pool', 'pg.Pool'] : ['pg.Pool', '@pool'];
      for (const kind of order) {
        const run = await measureRecovery(server, kind, outage, { callers: options.callers, max: options.callers });
        runs.push(run);
        console.log(
          `  ${kind} ${outageName(outage)}: back after ${run.outageMs.toFixed(0)} ms, first success ${run.recoveryMs.toFixed(1)} ms later, ${run.connects.attempts} connect attempts`,
        );
      }
    }
  }
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await server.destroy();
}
console.log(formatRecovery(runs));
console.log(`load average at the end: ${load()}`);
const failures = recoveryFailures(runs);
if (failures.length === 0) console.log('result: PASS');
else {
  console.log(`result: FAIL: ${failures.join('; ')}`);
  process.exitCode = 1;
}
