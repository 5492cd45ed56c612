/**
 * The child process: measures one subject of one scenario and sends the figures to the parent over IPC.
 * Started only by the runner (`node --expose-gc dist/worker.js`), one fresh process per measurement, so
 * no library's JIT state, heap or timers leak into another's figures.
 */
import type { RunOptions } from './measure.js';
import { scenarioById } from './scenarios/index.js';

/** What the parent sends. */
export interface WorkerRequest {
  scenario: string;
  subject: string;
  options: RunOptions;
}

/** What the child answers. */
export type WorkerResponse = { ok: true; metrics: Record<string, number> } | { ok: false; error: string };

// Some pools unref every timer they arm (pg-pool's connection timeouts), so a child whose callers all
// wait would otherwise see an empty event loop and exit mid-measurement.
const keepAlive = setInterval(() => {}, 1 << 30);

function reply(message: WorkerResponse): void {
  clearInterval(keepAlive);
  if (process.send === undefined) {
    process.stdout.write(`${JSON.stringify(message)}\n`);
    process.exit(message.ok ? 0 : 1);
  }
  process.send(message, () => process.exit(message.ok ? 0 : 1));
}

async function main(): Promise<void> {
  const arg = process.argv[2];
  if (arg === undefined) throw new Error('usage: worker.js <json request>');
  const request = JSON.parse(arg) as WorkerRequest;
  const scenario = scenarioById(request.scenario);
  if (!scenario.subjects.includes(request.subject)) {
    throw new Error(`scenario ${scenario.id} has no subject '${request.subject}'; it has ${scenario.subjects.join(', ')}`);
  }
  const metrics = await scenario.run(request.subject, request.options);
  reply({ ok: true, metrics });
}

main().catch((error: unknown) => {
  reply({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
});
