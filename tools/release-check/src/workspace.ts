import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PackageManifest } from './package-layout.js';

/** The repository's root directory. */
export const REPOSITORY_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** A workspace package: its directory (absolute and relative to the root) and its package.json. */
export interface WorkspacePackage {
  readonly dir: string;
  readonly directory: string;
  readonly manifest: PackageManifest;
}

function readPackages(parent: string, root: string): WorkspacePackage[] {
  const base = join(root, parent);
  if (!existsSync(base)) return [];
  return readdirSync(base, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(base, d.name, 'package.json')))
    .map((d) => {
      const dir = join(base, d.name);
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageManifest;
      return { dir, directory: relative(root, dir), manifest };
    })
    .sort((a, b) => a.directory.localeCompare(b.directory));
}

/** Every workspace package under `packages/` (published ones and, if any, private ones). */
export function libraryPackages(root = REPOSITORY_ROOT): WorkspacePackage[] {
  return readPackages('packages', root);
}

/** The packages that are published: those under `packages/` that are not private. */
export function publicPackages(root = REPOSITORY_ROOT): WorkspacePackage[] {
  return libraryPackages(root).filter((p) => p.manifest.private !== true);
}
