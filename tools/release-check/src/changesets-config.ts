import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { publicPackages, REPOSITORY_ROOT } from './workspace.js';

/**
 * Keeps `.changeset/config.json`'s `fixed` group equal to the list of published packages: they are
 * released together, at one version (see CONTRIBUTING.md, "Releases"). Returns true when it changed.
 */
export function syncChangesetsConfig(options: { write: boolean; root?: string }): boolean {
  const root = options.root ?? REPOSITORY_ROOT;
  const file = join(root, '.changeset', 'config.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as { fixed?: string[][] };
  const names = publicPackages(root)
    .map((p) => p.manifest.name)
    .sort();
  const next = { ...config, fixed: [names] };
  const text = `${JSON.stringify(next, null, 2)}\n`;
  if (readFileSync(file, 'utf8') === text) return false;
  if (options.write) writeFileSync(file, text);
  return true;
}
