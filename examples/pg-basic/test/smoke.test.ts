import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const url = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Runs the example the way `pnpm start` does and collects what it printed. */
function runExample(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=@pool/source', '--import', 'tsx', 'src/main.ts'], {
      cwd: root,
      env: { ...process.env, PG_URL: url },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

it('runs every step against the real server, reports each error as documented and leaves nothing behind', async () => {
  const { code, stdout, stderr } = await runExample();
  expect(stderr).toBe('');
  expect(code).toBe(0);
  const table = /inserted 3 rows into (pool_example_pg_basic_\w+)/.exec(stdout)?.[1];
  expect(table).toBeDefined();
  expect(stdout).toMatch(/^connected: PostgreSQL \d+/m);
  expect(stdout).toContain('connect: ada, alan have more than 60');
  expect(stdout).toContain('use: total balance is 225');
  expect(stdout).toMatch(/^await using: moved 30 from ada to grace on connection \d+, committed$/m);
  expect(stdout).toContain('the same connection came back idle (status I), 0 rows of it remain');
  expect(stdout).toContain('query error: PostgreSQL 42P01');
  expect(stdout).toContain('timeout: ERR_POOL_CONNECTION_TIMEOUT after 200 ms');
  expect(stdout).toContain('exhausted: ERR_POOL_EXHAUSTED: 1/1 connections in use, 0 waiting');
  expect(stdout).toContain('create failed: ERR_POOL_CONNECTION_CREATE, cause ECONNREFUSED');
  expect(stdout).toContain('closed: PoolClosedError ERR_POOL_CLOSED');
  expect(stdout).toContain('done: pools closed (0 connections open)');

  // The example drops its table, even though it created it under a name of its own.
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT to_regclass($1) AS t', [table]);
    expect(rows[0]?.t).toBeNull();
  } finally {
    await client.end();
  }
});
