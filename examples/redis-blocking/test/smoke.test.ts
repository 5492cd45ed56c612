import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Runs the example the way `pnpm start` does and collects what it printed. */
function runExample(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=@pool/source', '--import', 'tsx', 'src/main.ts'], {
      cwd: root,
      env: { ...process.env, REDIS_URL: url },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

it('blocks every worker on a pooled connection, keeps the shared client free, and processes each job once', async () => {
  const { code, stdout, stderr } = await runExample();
  expect(stderr).toBe('');
  expect(code).toBe(0);
  const queue = /workers: 4 blocked in BLPOP on (\S+) \(pool: 4 borrowed, 0 idle\)/.exec(stdout)?.[1];
  expect(queue).toBeDefined();
  expect(stdout).toMatch(/^shared client: PING answered in [\d.]+ ms while every worker was blocked$/m);
  expect(stdout).toContain('fifth consumer: ERR_POOL_CONNECTION_TIMEOUT after 100 ms (all 4 connections are blocked)');
  expect(stdout).toContain('produced: 40 jobs');
  const handled = /^workers: handled ([\d, ]+) jobs$/m.exec(stdout)?.[1]?.split(', ').map(Number);
  expect(handled).toHaveLength(4);
  expect(handled?.reduce((a, b) => a + b, 0)).toBe(40);
  // 1² + 2² + ... + 40² = 22140
  expect(stdout).toContain('result: 40 of 40 jobs recorded, each once (sum of squares 22140); workers handled 40');
  expect(stdout).toContain('done: pool closed (0 connections open), keys deleted');

  const redis = new Redis(url);
  try {
    const prefix = (queue as string).replace(/:jobs$/, '');
    expect(await redis.keys(`${prefix}:*`)).toEqual([]);
  } finally {
    redis.disconnect();
  }
});
