/**
 * `pnpm bench`: runs every scenario, each subject in its own child process, interleaved over rounds;
 * prints the tables and the targets, and writes the results as JSON.
 */
import { execFileSync, fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CliOptions, parseCli, roundOrder, USAGE } from './args.js';
import type { RunOptions } from './measure.js';
import { markdownTable, type RoundMetrics, type ScenarioResult, summarizeScenario, tableRows, textTable } from './report.js';
import type { Scenario } from './scenario.js';
import { SCENARIOS } from './scenarios/index.js';
import { checkTargets } from './targets.js';
import type { WorkerRequest, WorkerResponse } from './worker.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const benchRoot = path.resolve(here, '..');
/** A child that has not answered by then is killed and its round counted as failed. */
const CHILD_LIMIT_MS = 180_000;

function runChild(scenario: Scenario, subject: string, run: RunOptions, round: number, cpuProf: string | null): Promise<WorkerResponse> {
  const request: WorkerRequest = { scenario: scenario.id, subject, options: run };
  const execArgv = ['--expose-gc'];
  if (cpuProf !== null) {
    execArgv.push(
      '--cpu-prof',
      `--cpu-prof-dir=${cpuProf}`,
      `--cpu-prof-name=s${scenario.id}-${subject.replace(/[^\w.+-]/g, '_')}-r${round + 1}.cpuprofile`,
    );
  }
  return new Promise((resolve) => {
    let answer: WorkerResponse | undefined;
    let stderr = '';
    const child = fork(path.join(here, 'worker.js'), [JSON.stringify(request)], { execArgv, stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      answer ??= { ok: false, error: `no answer within ${CHILD_LIMIT_MS / 1000} s; killed` };
      child.kill('SIGKILL');
    }, CHILD_LIMIT_MS);
    child.on('message', (m) => {
      answer ??= m as WorkerResponse;
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(
        answer ?? { ok: false, error: `child exited (${signal ?? code}) without an answer${stderr === '' ? '' : `: ${stderr.trim()}`}` },
      );
    });
  });
}

async function runScenario(scenario: Scenario, opts: CliOptions): Promise<ScenarioResult> {
  const subjects = opts.subjects.length === 0 ? [...scenario.subjects] : scenario.subjects.filter((s) => opts.subjects.includes(s));
  const info = { ...scenario, subjects };
  const skipped = (await scenario.unavailable?.()) ?? null;
  if (skipped !== null) return { ...summarizeScenario(info, {}), skipped };
  const raw: Record<string, RoundMetrics[]> = Object.fromEntries(subjects.map((s) => [s, [] as RoundMetrics[]]));
  const errors: Record<string, string[]> = {};
  const rounds = Math.min(opts.rounds, scenario.maxRounds ?? opts.rounds);
  for (let round = 0; round < rounds; round++) {
    const figures: Record<string, RoundMetrics> = {};
    for (const subject of roundOrder(subjects, round)) {
      process.stderr.write(`  [${scenario.id}] round ${round + 1}/${rounds} ${subject} ... `);
      const t0 = performance.now();
      const answer = await runChild(scenario, subject, opts.run, round, opts.cpuProf);
      const secs = ((performance.now() - t0) / 1000).toFixed(1);
      if (answer.ok) {
        figures[subject] = answer.metrics;
        const p = answer.metrics[scenario.primary];
        process.stderr.write(`${p === undefined ? '' : `${scenario.primary} ${p.toFixed(0)}`} (${secs} s)\n`);
      } else {
        figures[subject] = null;
        (errors[subject] ??= []).push(answer.error);
        process.stderr.write(`FAILED (${secs} s)\n${answer.error}\n`);
      }
    }
    for (const s of subjects) raw[s]?.push(figures[s] ?? null);
  }
  return summarizeScenario(info, raw, errors);
}

/**
 * A fingerprint of the @pool/core build the children load. In a checkout shared with other people a
 * rebuild of core in the middle of a run would silently mix two engines in one table; comparing the
 * fingerprint before and after catches that.
 */
function coreFingerprint(): string {
  try {
    const file = createRequire(import.meta.url).resolve('@pool/core');
    return createHash('sha256')
      .update(readFileSync(file.replace(/index\.cjs$/, 'index.js')))
      .digest('hex')
      .slice(0, 16);
  } catch {
    return 'missing';
  }
}

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: benchRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function machine() {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    availableParallelism: os.availableParallelism(),
    totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadAverage: os.loadavg(),
  };
}

function commandLine(): string {
  const event = process.env.npm_lifecycle_event;
  const direct = ['node', path.relative(process.cwd(), fileURLToPath(import.meta.url)), ...process.argv.slice(2)].join(' ');
  return event === undefined ? direct : `pnpm ${event}${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''} (${direct})`;
}

async function main(): Promise<void> {
  const opts = parseCli(process.argv.slice(2));
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const unknown = opts.scenarios.filter((id) => !SCENARIOS.some((s) => s.id === id));
  if (unknown.length > 0) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.id).join(', ')}`);
  const chosen = opts.scenarios.length === 0 ? SCENARIOS : SCENARIOS.filter((s) => opts.scenarios.includes(s.id));
  if (opts.cpuProf !== null) mkdirSync(opts.cpuProf, { recursive: true });
  const started = new Date();
  const coreBuild = coreFingerprint();
  const results: Record<string, ScenarioResult> = {};
  // Run order (an object with keys like '1' and '2a' iterates the integer-like ones first).
  const ordered: ScenarioResult[] = [];
  for (const scenario of chosen) {
    process.stderr.write(`Scenario ${scenario.id}: ${scenario.title}\n`);
    const result = await runScenario(scenario, opts);
    results[scenario.id] = result;
    ordered.push(result);
    const heading = `Scenario ${scenario.id}: ${scenario.title}`;
    const body = result.skipped === undefined ? textTable(tableRows(result)) : `skipped: ${result.skipped}`;
    process.stdout.write(`\n${heading}\n${body}\n\n`);
  }
  // Scenario 6's @pool/core entry is @pool/pg when it ran, else the bare engine with a pg factory.
  const pgSubject = results['6']?.subjects.some((x) => x.subject === '@pool/pg' && x.rounds > 0) ? '@pool/pg' : 'core+pg';
  const targets = checkTargets(results, pgSubject);
  const coreBuildAfter = coreFingerprint();
  const finished = new Date();
  const env = {
    date: started.toISOString(),
    durationS: Math.round((finished.getTime() - started.getTime()) / 1000),
    command: commandLine(),
    node: process.version,
    v8: process.versions.v8,
    machine: machine(),
    commit: git(['rev-parse', 'HEAD']),
    dirty: (git(['status', '--porcelain', '--', '../packages/core', '.', ':!results']) ?? '') !== '',
    coreBuild,
    coreBuildChanged: coreBuildAfter !== coreBuild,
    rounds: opts.rounds,
    options: opts.run,
  };
  const markdown = [
    `Run ${env.date} on ${env.machine.cpuModel} (${env.machine.cores} cores), Node ${env.node}: \`${env.command}\``,
    '',
    ...ordered.flatMap((r) => [
      `#### Scenario ${r.scenario.id}: ${r.scenario.title}`,
      '',
      r.skipped === undefined ? markdownTable(tableRows(r)) : `Skipped: ${r.skipped}`,
      '',
    ]),
    '#### Targets',
    '',
    markdownTable([['target', 'status', 'measured'], ...targets.map((t) => [t.goal, t.status, t.actual])]),
    '',
  ].join('\n');
  const outFile = path.resolve(benchRoot, opts.out);
  mkdirSync(path.dirname(outFile), { recursive: true });
  writeFileSync(outFile, `${JSON.stringify({ ...env, results, targets }, null, 2)}\n`);
  writeFileSync(outFile.replace(/\.json$/, '.md'), markdown);
  process.stdout.write(opts.run.smoke ? 'Targets (smoke run: tiny budgets, the figures mean nothing)\n' : 'Targets\n');
  for (const t of targets) process.stdout.write(`  [${t.status}] ${t.goal}: ${t.actual}\n`);
  process.stdout.write(`\n${env.machine.cpuModel} x${env.machine.cores}, Node ${env.node}, ${env.date}; ${env.durationS} s\n`);
  process.stdout.write(`Results: ${path.relative(process.cwd(), outFile)} (and .md)\n`);
  if (env.coreBuildChanged) {
    process.stderr.write(
      `\n@pool/core's build changed during the run (${coreBuild} -> ${coreBuildAfter}): the figures mix two engines; run again.\n`,
    );
    process.exitCode = 1;
  }
  const failures = ordered.flatMap((r) => Object.entries(r.errors).map(([s, e]) => `${r.scenario.id}/${s}: ${e.length} failed round(s)`));
  if (failures.length > 0) {
    process.stderr.write(`\nFailures:\n  ${failures.join('\n  ')}\n`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
