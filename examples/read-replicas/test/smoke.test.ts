import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const server = (process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test').replace(/^postgres(ql)?:\/\//, '');
// The test server, plus a host that is down (port 1): the program must report it and route around it.
const at = server.indexOf('@');
const hostsUrl = `postgres://${server.slice(0, at + 1)}${server.slice(at + 1).replace(/\//, ',127.0.0.1:1/')}`;

function runExample(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=@pool/source', '--import', 'tsx', 'src/main.ts'], {
      cwd: root,
      env: { ...process.env, PG_HOSTS_URL: hostsUrl },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

it('writes on the primary, reads in read-only sessions, reports the host that is down and closes everything', async () => {
  const { code, stdout, stderr } = await runExample();
  expect(stderr).toBe('');
  expect(code).toBe(0);
  expect(stdout).toMatch(/^host [^ ]+: primary, up$/m);
  expect(stdout).toMatch(/^host 127\.0\.0\.1:1: unknown, down \(.*ECONNREFUSED/m);
  expect(stdout).toContain('write: 3 rows inserted on a primary');
  expect(stdout).toContain('read: served by a primary (no standby available), read-only session: on');
  expect(stdout).toMatch(/3 rows visible, a write is refused with 25006/);
  expect(stdout).toContain('done: pool closed (0 write connections open)');
});
