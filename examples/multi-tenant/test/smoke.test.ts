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

it('routes each tenant to its own schema, enforces every limit it shows, and drops its schemas', async () => {
  const { code, stdout, stderr } = await runExample();
  expect(stderr).toBe('');
  expect(code).toBe(0);
  const prefix = /cleanup: dropped the schemas (pool_mt_\w+)_\*/.exec(stdout)?.[1];
  expect(prefix).toBeDefined();

  expect(stdout).toContain(`routing: acme -> tenant_acme, schema ${prefix}_acme: anvil, rocket skates, giant magnet`);
  expect(stdout).toContain(`routing: globex -> tenant_globex, schema ${prefix}_globex: doomsday device, hammock`);
  expect(stdout).toContain(`routing: initech -> tenant_initech, schema ${prefix}_initech: TPS report cover sheet`);
  expect(stdout).toContain('flood: globex sent 12 slow requests: 2 admitted, 10 queued (blocked on maxConnections)');
  expect(stdout).toMatch(/^flood: acme was served 4 times, one after another, while \d+ globex requests still waited$/m);
  expect(stdout).toContain('flood: globex ran at most 2 at once (its maxConnections is 2)');
  expect(stdout).toContain('queue: initech sent 4 at once: 2 served, 2 refused with PoolExhaustedError');
  expect(stdout).toMatch(/^rate: initech request \d+ refused: ERR_POOL_PARTITION_LIMIT ioLimit/m);
  expect(stdout).toContain('unrouted: umbrella: ERR_POOL_PARTITION reason unrouted');
  expect(stdout).toMatch(/^stats: tenant_initech: .*rejected queueFull 2, ioLimit 1,/m);
  expect(stdout).toMatch(/^isolation: \d+ requests, 0 saw another tenant's schema$/m);
  expect(stdout).toContain('done: manager and pool closed (0 connections open after close)');

  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE $1', [`${prefix}%`]);
    expect(rows).toEqual([]);
  } finally {
    await client.end();
  }
});
