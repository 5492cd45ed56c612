import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from './workspace.js';

const { packageManager } = JSON.parse(readFileSync(join(REPOSITORY_ROOT, 'package.json'), 'utf8')) as { packageManager: string };
const PNPM_VERSION = packageManager.replace(/^pnpm@/, '');

function markdownFiles(): string[] {
  const files = ['README.md', 'CONTRIBUTING.md'].map((f) => join(REPOSITORY_ROOT, f));
  for (const parent of ['docs', 'packages', 'examples', 'tools']) {
    const base = join(REPOSITORY_ROOT, parent);
    for (const d of readdirSync(base, { withFileTypes: true })) {
      if (d.isFile() && d.name.endsWith('.md')) files.push(join(base, d.name));
      if (d.isDirectory() && existsSync(join(base, d.name, 'README.md'))) files.push(join(base, d.name, 'README.md'));
    }
  }
  for (const dir of ['bench', 'reliability']) files.push(join(REPOSITORY_ROOT, dir, 'README.md'));
  return files.filter((f) => existsSync(f));
}

describe('docs on a machine with only npm', () => {
  it('every page that gives a pnpm command says how to run it through npx, with the pinned pnpm', () => {
    const missing: string[] = [];
    const wrongVersion: string[] = [];
    for (const file of markdownFiles()) {
      const text = readFileSync(file, 'utf8');
      const name = relative(REPOSITORY_ROOT, file);
      if (/(^|`)pnpm [a-z-]/m.test(text) && !text.includes(`npx -y pnpm@${PNPM_VERSION}`)) missing.push(name);
      for (const m of text.matchAll(/npx -y pnpm@([\w.-]+)/g)) if (m[1] !== PNPM_VERSION) wrongVersion.push(`${name}: pnpm@${m[1]}`);
    }
    expect({ missing, wrongVersion }).toEqual({ missing: [], wrongVersion: [] });
  });
});
