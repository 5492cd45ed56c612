/**
 * The one place that says how a published `@pool/*` package is laid out: which files its build
 * writes, its `exports`/`main`/`types`/`typesVersions`/`files`, and the metadata every published
 * package carries. `tsup.shared.ts` builds from it and `pnpm sync:packages` writes package.json from it,
 * so the two cannot drift, and a new package only needs its entry list (the `@pool/source` conditions
 * of its `exports`, or nothing for a single `src/index.ts`).
 *
 * Layout: one CommonJS build per entry (`dist/<name>.cjs` + `.d.cts`) and a thin ESM wrapper
 * (`dist/<name>.js` + `.d.ts`) that re-exports it, as `pg` does, so `import` and `require` load the same
 * module and an application never holds two engines. CONTRIBUTING.md says why.
 */

/** The repository every package links to (`repository`, `homepage`, `bugs`). */
export const REPOSITORY_URL = 'https://github.com/pool-js/pool';

/** The Node.js versions the packages support: what CI runs the unit tests on (20, 22, 24) and later. */
export const NODE_ENGINES = '^20.10.0 || ^22.0.0 || >=24.0.0';

/** The export condition our tests and type-checking use to resolve workspace packages to their sources. */
export const SOURCE_CONDITION = '@pool/source';

/**
 * Entries built as real ES modules (plus a CommonJS build for `require`) instead of a wrapper around the
 * CommonJS build, because they import an ESM-only library: `@pool/testkit/conformance` imports vitest,
 * which refuses `require()`. They hold no engine state, so two module instances do no harm.
 */
export const NATIVE_ESM_ENTRIES: Readonly<Record<string, readonly string[]>> = {
  '@pool/testkit': ['./conformance'],
};

/** One entry point of a package: its subpath, its source and the build's base file name in `dist/`. */
export interface PackageEntry {
  /** `.` or `./name`. */
  readonly subpath: string;
  /** `./src/....ts`. */
  readonly source: string;
  /** The output's path in `dist/` without extension: `index`, `adapter/index`, `conformance`. */
  readonly outName: string;
  /** True when the ESM entry is its own build (see {@link NATIVE_ESM_ENTRIES}), not a wrapper. */
  readonly nativeEsm: boolean;
}

/** The fields of package.json this layout reads. */
export interface PackageManifest {
  name: string;
  version: string;
  private?: boolean;
  exports?: Record<string, unknown>;
  [field: string]: unknown;
}

/**
 * The entries of a package, read from the `@pool/source` conditions of its `exports` (a package with
 * none has the single entry `.` → `./src/index.ts`).
 */
export function packageEntries(manifest: PackageManifest): PackageEntry[] {
  const sources: [string, string][] = [];
  for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
    if (typeof target !== 'object' || target === null) continue;
    const source = (target as Record<string, unknown>)[SOURCE_CONDITION];
    if (typeof source !== 'string') continue;
    sources.push([subpath, source]);
  }
  if (sources.length === 0) sources.push(['.', './src/index.ts']);
  const native = NATIVE_ESM_ENTRIES[manifest.name] ?? [];
  return sources.map(([subpath, source]) => {
    if (subpath !== '.' && !/^\.\/[a-z0-9-]+(\/[a-z0-9-]+)*$/.test(subpath)) {
      throw new Error(`${manifest.name}: exports["${subpath}"]: a subpath must be "." or "./name" (lowercase, digits, dashes)`);
    }
    const match = /^\.\/src\/(.+)\.ts$/.exec(source);
    if (match === null) {
      throw new Error(
        `${manifest.name}: exports["${subpath}"]["${SOURCE_CONDITION}"] = ${JSON.stringify(source)}: must be ./src/<path>.ts`,
      );
    }
    return { subpath, source, outName: match[1]!, nativeEsm: native.includes(subpath) };
  });
}

function conditions(entry: PackageEntry): Record<string, unknown> {
  return {
    import: { types: `./dist/${entry.outName}.d.ts`, default: `./dist/${entry.outName}.js` },
    require: { types: `./dist/${entry.outName}.d.cts`, default: `./dist/${entry.outName}.cjs` },
  };
}

/** The `exports` map: each entry, the closed subpaths the package already had (`null`), `./package.json`. */
function exportsMap(manifest: PackageManifest, entries: PackageEntry[], withSource: boolean): Record<string, unknown> {
  const map: Record<string, unknown> = {};
  for (const entry of entries) {
    map[entry.subpath] = withSource ? { [SOURCE_CONDITION]: entry.source, ...conditions(entry) } : conditions(entry);
  }
  for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
    if (target === null) map[subpath] = null;
  }
  map['./package.json'] = './package.json';
  return map;
}

/** The range a published package declares for another `@pool/*` package it takes as a peer. */
export function internalPeerRange(peerVersion: string): string {
  // 0.x: every minor may break, and changesets turns a peer leaving its range into a major bump of
  // every dependent (0.2.0 → 1.0.0). All packages are released together (a `fixed` group), so the
  // lower bound is the version they were tested with and the range stays open within 0.x; from 1.0.0
  // on, a caret range says the same thing. See CONTRIBUTING.md, "Releases".
  const [major] = peerVersion.split('.');
  return major === '0' ? `workspace:>=${peerVersion} <1.0.0` : 'workspace:^';
}

/** The scripts every published package has; turbo runs them by name. */
export const PACKAGE_SCRIPTS: Readonly<Record<string, string>> = {
  build: 'tsup',
  typecheck: 'tsc -p tsconfig.json',
  test: 'vitest run',
  'check:package': 'publint --strict --pack pnpm && attw --pack .',
};

const FIELD_ORDER = [
  'name',
  'version',
  'private',
  'description',
  'keywords',
  'license',
  'author',
  'repository',
  'homepage',
  'bugs',
  'type',
  'sideEffects',
  'engines',
  'exports',
  'main',
  'types',
  'typesVersions',
  'files',
  'publishConfig',
  'scripts',
  'peerDependencies',
  'peerDependenciesMeta',
  'dependencies',
  'devDependencies',
];

/**
 * The package.json of a published package, laid out: everything the layout owns is rewritten, every
 * other field (description, dependencies, extra scripts...) is kept as it was.
 *
 * @param directory the package's directory relative to the repository root (`packages/core`)
 * @param versions the current version of every workspace package, for internal peer ranges
 */
export function layOutManifest(manifest: PackageManifest, directory: string, versions: ReadonlyMap<string, string>): PackageManifest {
  const entries = packageEntries(manifest);
  const main = entries.find((e) => e.subpath === '.');
  if (main === undefined) throw new Error(`${manifest.name}: exports has no "." entry`);
  const subpaths = entries.filter((e) => e.subpath !== '.');
  const owned: Record<string, unknown> = {
    license: 'MIT',
    repository: { type: 'git', url: `git+${REPOSITORY_URL}.git`, directory },
    homepage: `${REPOSITORY_URL}/tree/main/${directory}#readme`,
    bugs: { url: `${REPOSITORY_URL}/issues` },
    type: 'module',
    sideEffects: false,
    engines: { node: NODE_ENGINES },
    exports: exportsMap(manifest, entries, true),
    main: `./dist/${main.outName}.cjs`,
    types: `./dist/${main.outName}.d.cts`,
    // TypeScript's `moduleResolution: node` (node10) ignores `exports`: this is how it finds subpaths.
    typesVersions:
      subpaths.length === 0
        ? undefined
        : { '*': Object.fromEntries(subpaths.map((e) => [e.subpath.slice(2), [`./dist/${e.outName}.d.cts`]])) },
    files: ['dist'],
    // pnpm publishes these fields in place of the ones above: the `@pool/source` condition points at
    // sources the tarball does not hold.
    publishConfig: { access: 'public', provenance: true, exports: exportsMap(manifest, entries, false) },
    scripts: { ...(manifest.scripts as Record<string, string> | undefined), ...PACKAGE_SCRIPTS },
  };
  const peers = manifest.peerDependencies as Record<string, string> | undefined;
  if (peers !== undefined) {
    const laidOut: Record<string, string> = {};
    for (const [name, range] of Object.entries(peers)) {
      const version = versions.get(name);
      laidOut[name] = version === undefined ? range : internalPeerRange(version);
    }
    owned.peerDependencies = laidOut;
  }
  const merged: Record<string, unknown> = { ...manifest, ...owned };
  delete merged.module;
  const ordered: Record<string, unknown> = {};
  for (const field of FIELD_ORDER) if (merged[field] !== undefined) ordered[field] = merged[field];
  for (const [field, value] of Object.entries(merged)) if (!(field in ordered) && value !== undefined) ordered[field] = value;
  return ordered as PackageManifest;
}
