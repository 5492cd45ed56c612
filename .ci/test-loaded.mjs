#!/usr/bin/env node
// `pnpm test:loaded [-- <args for pnpm test>]`: runs the whole suite (`pnpm test`) while a CPU burner
// keeps every core busy, as on a loaded laptop or a shared CI runner. The burner is one worker thread
// per core spinning at normal priority; being threads of this process, it ends with it whatever
// happens (Ctrl-C, a crash, SIGKILL), and it is stopped explicitly as soon as the suite ends.
// Exits with the suite's exit code, after a summary line (duration, load average before and after).
import { spawn } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';

const cores = availableParallelism();
const burnerCount = cores;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');

// Pure CPU until terminated (Worker#terminate stops even a tight loop).
const spin = 'let x = 0; for (;;) x = (x * 1103515245 + 12345) | 0;';

const burners = Array.from({ length: burnerCount }, () => new Worker(spin, { eval: true }));
for (const b of burners) b.unref();

let stopped = false;
async function stopBurners() {
  if (stopped) return;
  stopped = true;
  await Promise.all(burners.map((b) => b.terminate()));
}

console.log(`test:loaded: ${burnerCount} CPU burner thread(s) on ${cores} core(s); load average ${load()}`);
const started = Date.now();
const args = process.argv.slice(2).filter((a) => a !== '--');
// --continue: a failing package does not stop the others, so one run shows every failure.
const suite = spawn('pnpm', ['test', '--continue', ...args], { stdio: 'inherit' });

const forward = (signal) => {
  suite.kill(signal);
};
process.on('SIGINT', forward);
process.on('SIGTERM', forward);

suite.on('error', async (error) => {
  await stopBurners();
  console.error(`test:loaded: could not run pnpm test: ${error.message}`);
  process.exit(1);
});

suite.on('exit', async (code, signal) => {
  await stopBurners();
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  const result = code === 0 ? 'PASS' : `FAIL (${signal === null ? `exit code ${code}` : `killed by ${signal}`})`;
  console.log(`test:loaded: ${result} after ${minutes} min under ${burnerCount} burner(s); load average at the end ${load()}`);
  process.exit(code ?? 1);
});
