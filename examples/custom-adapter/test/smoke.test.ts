import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Runs the demo the way `pnpm start` does and collects what it printed. */
function runDemo(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.LINEKV_URL; // the demo starts its own server
    const child = spawn(process.execPath, ['--conditions=@pool/source', '--import', 'tsx', 'demo.ts'], { cwd: root, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

it('the demo pools the adapter: concurrency, reset of a dirty session, a killed connection replaced, nothing left open', async () => {
  const { code, stdout, stderr } = await runDemo();
  expect(stderr).toBe('');
  expect(code).toBe(0);
  expect(stdout).toMatch(/^server: LineKV started on 127\.0\.0\.1:\d+; factory LineKvFactory\(linekv:\/\/127\.0\.0\.1:\d+\)$/m);
  expect(stdout).not.toContain('demo-password');
  expect(stdout).toContain('use: GET greeting -> hello from a pooled connection');
  expect(stdout).toMatch(/^concurrency: 20 callers served by [1-4] connections \(maxSize 4\)$/m);
  expect(stdout).toContain("dirty: borrower left namespace 'scratch' with a transaction open (isDirty true)");
  expect(stdout).toContain("reset: next borrower sees namespace 'default', transaction idle, greeting 'hello from a pooled connection'");
  expect(stdout).toContain("error: ERR LineKV: unknown command 'FLY' (queryErrors 1)");
  expect(stdout).toMatch(/^kill: session \d+ killed by the server while idle: pool destroyed it \(broken\)$/m);
  expect(stdout).toMatch(/^kill: the pool still serves: PONG from session \d+$/m);
  expect(stdout).toContain('done: pool closed, 0 sessions left on the server');
});
