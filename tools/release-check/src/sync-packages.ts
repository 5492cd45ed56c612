/**
 * `pnpm sync:packages`: rewrites the package.json of every published package from its entry list
 * (see package-layout.ts), copies the root LICENSE beside it, so the tarball carries it, and lists
 * every published package in the changesets `fixed` group. Run it
 * after adding a package or an entry point, or after `changeset version` (the `version-packages` script
 * does); `pnpm check:release` fails when a package.json is not what this would write.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { syncChangesetsConfig } from './changesets-config.js';
import { layOutManifest } from './package-layout.js';
import { libraryPackages, publicPackages, REPOSITORY_ROOT } from './workspace.js';

/** What sync would change: the packages whose package.json or LICENSE differ from the layout. */
export function syncPackages(options: { write: boolean; root?: string }): string[] {
  const root = options.root ?? REPOSITORY_ROOT;
  const versions = new Map(libraryPackages(root).map((p) => [p.manifest.name, p.manifest.version]));
  const license = readFileSync(join(root, 'LICENSE'), 'utf8');
  const stale: string[] = [];
  for (const pkg of publicPackages(root)) {
    const file = join(pkg.dir, 'package.json');
    const text = `${JSON.stringify(layOutManifest(pkg.manifest, pkg.directory, versions), null, 2)}\n`;
    let licenseCopy: string | undefined;
    try {
      licenseCopy = readFileSync(join(pkg.dir, 'LICENSE'), 'utf8');
    } catch {
      licenseCopy = undefined;
    }
    if (readFileSync(file, 'utf8') === text && licenseCopy === license) continue;
    stale.push(pkg.directory);
    if (options.write) {
      writeFileSync(file, text);
      copyFileSync(join(root, 'LICENSE'), join(pkg.dir, 'LICENSE'));
    }
  }
  if (syncChangesetsConfig({ write: options.write, root })) stale.push('.changeset/config.json');
  return stale;
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));
if (isMain) {
  const check = process.argv.includes('--check');
  const stale = syncPackages({ write: !check });
  if (check && stale.length > 0) {
    console.error(`sync:packages: out of date (run \`pnpm sync:packages\`): ${stale.join(', ')}`);
    process.exitCode = 1;
  } else {
    console.log(stale.length === 0 ? 'sync:packages: every package.json is up to date' : `sync:packages: rewrote ${stale.join(', ')}`);
  }
}
