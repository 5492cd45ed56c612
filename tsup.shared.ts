import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Options } from 'tsup';
import { type PackageEntry, type PackageManifest, packageEntries } from './tools/release-check/src/package-layout.js';

/**
 * The build every library package uses (see tools/release-check/src/package-layout.ts for why):
 * one CommonJS build per entry with its declarations (`dist/<name>.cjs`, `.d.cts`), and an ESM wrapper
 * beside it (`dist/<name>.js`, `.d.ts`) that re-exports that same module, so `import` and `require`
 * give one copy of every class. Entries come from the package.json `exports` (`@pool/source`).
 */
export function libraryBuild(overrides: Options = {}): Options[] {
  const packageDir = process.cwd();
  const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as PackageManifest;
  const entries = packageEntries(manifest);
  // Cleaned here, once, rather than by each of the builds below, which run concurrently.
  rmSync(join(packageDir, 'dist'), { recursive: true, force: true });
  const common: Options = {
    dts: true,
    clean: false,
    sourcemap: true,
    target: 'node20',
    platform: 'node',
    splitting: false,
    treeshake: true,
    // Class names survive bundling: PoolError's brand check matches classes by name across copies.
    keepNames: true,
    // A second entry imports the first through the package's own name, so both share its module.
    external: [manifest.name],
    ...overrides,
  };
  const builds: Options[] = [
    {
      ...common,
      entry: Object.fromEntries(entries.map((e) => [e.outName, e.source])),
      format: ['cjs'],
      onSuccess: async () => writeEsmWrappers(packageDir, entries),
    },
  ];
  const native = entries.filter((e) => e.nativeEsm);
  if (native.length > 0) builds.push({ ...common, entry: Object.fromEntries(native.map((e) => [e.outName, e.source])), format: ['esm'] });
  return builds;
}

/** The names a CommonJS build exports, read by loading it in a separate Node process. */
function exportNames(file: string): string[] {
  const script = `process.stdout.write(JSON.stringify(Object.keys(require(${JSON.stringify(file)}))))`;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`could not load ${file} to list its exports:\n${run.stderr}`);
  return (JSON.parse(run.stdout) as string[]).filter((name) => name !== 'default' && name !== '__esModule');
}

function writeEsmWrappers(packageDir: string, entries: readonly PackageEntry[]): void {
  for (const entry of entries) {
    if (entry.nativeEsm) continue;
    const base = join(packageDir, 'dist', entry.outName);
    const cjs = `./${entry.outName.split('/').pop()}.cjs`;
    const names = exportNames(`${base}.cjs`);
    mkdirSync(dirname(base), { recursive: true });
    writeFileSync(
      `${base}.js`,
      [
        '// The ESM entry: the CommonJS build re-exported, so `import` and `require` share one module.',
        `import cjs from '${cjs}';`,
        names.length === 0 ? 'export {};' : `export const { ${names.join(', ')} } = cjs;`,
        '',
      ].join('\n'),
    );
    writeFileSync(`${base}.d.ts`, `export * from '${cjs}';\n`);
  }
}
