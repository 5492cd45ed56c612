import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { syncPackages } from './sync-packages.js';
import { libraryPackages, publicPackages, REPOSITORY_ROOT } from './workspace.js';

const CHANGESET_BIN = join(REPOSITORY_ROOT, 'node_modules', '@changesets', 'cli', 'bin.js');
const copies: string[] = [];

afterEach(() => {
  for (const dir of copies.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Every workspace package.json (and what changesets and sync read) in a throw-away directory. */
function throwAwayCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pool-changesets-'));
  copies.push(dir);
  const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: REPOSITORY_ROOT,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((f) => /(^|\/)package\.json$/.test(f) || f === 'pnpm-workspace.yaml' || f === 'LICENSE' || f === '.changeset/config.json');
  for (const file of tracked) {
    if (!existsSync(join(REPOSITORY_ROOT, file))) continue;
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(join(REPOSITORY_ROOT, file), join(dir, file));
  }
  return dir;
}

function addChangeset(dir: string, name: string, releases: Record<string, 'patch' | 'minor' | 'major'>): void {
  const header = Object.entries(releases)
    .map(([pkg, type]) => `'${pkg}': ${type}`)
    .join('\n');
  writeFileSync(join(dir, '.changeset', `${name}.md`), `---\n${header}\n---\n\nA sample change for the dry run.\n`);
}

/** What `pnpm version-packages` does: `changeset version`, then `pnpm sync:packages`. */
function versionPackages(dir: string): void {
  execFileSync(process.execPath, [CHANGESET_BIN, 'version'], { cwd: dir, stdio: 'pipe' });
  syncPackages({ write: true, root: dir });
}

function manifests(dir: string): Map<string, { version: string; peerDependencies?: Record<string, string> }> {
  return new Map(libraryPackages(dir).map((p) => [p.manifest.name, p.manifest as never]));
}

function privateVersions(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const parent of ['examples', 'bench', 'reliability', 'tools']) {
    const base = join(dir, parent);
    if (!existsSync(base)) continue;
    const dirs = existsSync(join(base, 'package.json')) ? [base] : readdirSync(base).map((d) => join(base, d));
    for (const d of dirs) {
      if (!existsSync(join(d, 'package.json'))) continue;
      const m = JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as { name: string; version: string };
      out[m.name] = m.version;
    }
  }
  return out;
}

describe('changeset version on a throw-away copy of the repository', () => {
  const published = publicPackages().map((p) => p.manifest.name);
  const before = new Map(publicPackages().map((p) => [p.manifest.name, p.manifest.version]));
  const current = before.get('@pool/core')!;
  const [major, minor, patch] = current.split('.').map(Number) as [number, number, number];

  it('a minor change to core moves every published package to the next minor, with peer ranges that accept it', () => {
    const dir = throwAwayCopy();
    const privateBefore = privateVersions(dir);
    for (const f of readdirSync(join(dir, '.changeset'))) if (f.endsWith('.md')) rmSync(join(dir, '.changeset', f));
    addChangeset(dir, 'core-minor', { '@pool/core': 'minor' });

    versionPackages(dir);

    const next = `${major}.${minor + 1}.0`;
    const after = manifests(dir);
    for (const name of published) expect({ name, version: after.get(name)?.version }).toEqual({ name, version: next });
    for (const name of published) {
      for (const [peer, range] of Object.entries(after.get(name)?.peerDependencies ?? {})) {
        if (!peer.startsWith('@pool/')) continue;
        // Published as `>=0.2.0 <1.0.0` (pnpm drops `workspace:`): the version released with it, and up.
        expect({ name, peer, range }).toEqual({ name, peer, range: major === 0 ? `workspace:>=${next} <1.0.0` : 'workspace:^' });
      }
    }
    expect(after.get('@pool/pg')?.peerDependencies?.pg).toBe('^8.11.0');
    expect(privateVersions(dir)).toEqual(privateBefore);
  });

  it('a patch to one adapter releases every published package as a patch and leaves peer ranges open', () => {
    const dir = throwAwayCopy();
    for (const f of readdirSync(join(dir, '.changeset'))) if (f.endsWith('.md')) rmSync(join(dir, '.changeset', f));
    addChangeset(dir, 'pg-patch', { '@pool/pg': 'patch' });

    versionPackages(dir);

    const next = `${major}.${minor}.${patch + 1}`;
    const after = manifests(dir);
    for (const name of published) expect({ name, version: after.get(name)?.version }).toEqual({ name, version: next });
    expect(after.get('@pool/pg')?.peerDependencies?.['@pool/core']).toBe(major === 0 ? `workspace:>=${next} <1.0.0` : 'workspace:^');
  });

  it('the pending changesets give every published package one version and version no private package', () => {
    const dir = throwAwayCopy();
    cpSync(join(REPOSITORY_ROOT, '.changeset'), join(dir, '.changeset'), { recursive: true });
    const privateBefore = privateVersions(dir);

    versionPackages(dir);

    const after = manifests(dir);
    const versions = new Set(published.map((name) => after.get(name)?.version));
    expect(versions.size).toBe(1);
    const [version] = [...versions] as [string];
    // 0.x: a breaking change is a minor, so the release is at most the next minor, never 1.0.0.
    expect(version.startsWith(`${major}.`)).toBe(true);
    expect(privateVersions(dir)).toEqual(privateBefore);
  });

  it('no pending changeset names a private package', () => {
    const privateNames = new Set(Object.keys(privateVersions(REPOSITORY_ROOT)));
    const offenders: string[] = [];
    for (const f of readdirSync(join(REPOSITORY_ROOT, '.changeset'))) {
      if (!f.endsWith('.md')) continue;
      const head = readFileSync(join(REPOSITORY_ROOT, '.changeset', f), 'utf8').split('---')[1] ?? '';
      for (const m of head.matchAll(/['"]?(@?[\w./-]+)['"]?\s*:/g)) if (privateNames.has(m[1]!)) offenders.push(`${f}: ${m[1]}`);
    }
    expect(offenders).toEqual([]);
  });
});
