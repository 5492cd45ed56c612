import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const here = fileURLToPath(new URL('.', import.meta.url));
let outDir = '';

/** The engine built as it is published (ESM and CommonJS), into a temporary directory. */
beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'pool-core-close-'));
  await build({
    config: false,
    entry: { index: join(here, 'index.ts') },
    format: ['esm', 'cjs'],
    outDir,
    outExtension: ({ format }) => ({ js: format === 'esm' ? '.mjs' : '.cjs' }),
    dts: false,
    sourcemap: false,
    target: 'node20',
    platform: 'node',
    silent: true,
  });
}, 60_000);

afterAll(async () => {
  if (outDir !== '') await rm(outDir, { recursive: true, force: true });
});

/** Runs a fixture program in its own Node process; returns its output and exit code. */
async function program(fixture: string, engine: string): Promise<{ stdout: string; code: number }> {
  try {
    const { stdout } = await run(process.execPath, [join(here, 'test-support', fixture), join(outDir, engine)], { timeout: 15_000 });
    return { stdout, code: 0 };
  } catch (error) {
    const e = error as { stdout?: string; code?: number };
    return { stdout: e.stdout ?? '', code: typeof e.code === 'number' ? e.code : -1 };
  }
}

describe('close() and destroy() keep Node alive while they wait for a hanging driver close', () => {
  it('in an ES module: every await resumes and the program exits 0 (not 13)', async () => {
    const { stdout, code } = await program('close-keeps-alive.mjs', 'index.mjs');
    expect(stdout.trim().split('\n')).toEqual(['destroyed', 'closed']);
    expect(code).toBe(0);
  });

  it('in CommonJS: the code after each await runs', async () => {
    const { stdout, code } = await program('close-keeps-alive.cjs', 'index.cjs');
    expect(stdout.trim().split('\n')).toEqual(['destroyed', 'closed']);
    expect(code).toBe(0);
  });
});
