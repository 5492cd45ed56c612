/**
 * `pnpm check:release`: proves the packages work as a user gets them. It packs every published package
 * with pnpm (as `changeset publish` does), checks each tarball (only what a user needs, metadata, size
 * budget), installs the tarballs with npm into a fresh project outside the repository and there:
 * imports and requires every entry in one process and checks they are one module (load.mjs, load.cjs),
 * type-checks a sample under node10, node16 (CJS and ESM) and bundler resolution, runs a tiny pool,
 * and runs @pool/testkit's conformance suite under the oldest and the newest vitest it supports.
 *
 * Options: `--node 22,24` also runs the load checks on those Node.js versions (fetched with npx);
 * `--keep` leaves the temporary directory for inspection.
 */
import { execFileSync, type StdioOptions } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { packageEntries } from './package-layout.js';
import { sizeBudgetKb } from './size-budget.js';
import { syncPackages } from './sync-packages.js';
import { publicPackages, REPOSITORY_ROOT, type WorkspacePackage } from './workspace.js';

/** The oldest vitest @pool/testkit supports (the bottom of its peer range). */
const OLDEST_VITEST = '3.2.0';
/** The newest vitest major @pool/testkit supports; it needs Node 22. */
const NEWEST_VITEST = '5';
const CONSUMER_TEMPLATE = join(REPOSITORY_ROOT, 'tools', 'release-check', 'consumer');

/**
 * The environment for the programs this runs, without what npm and pnpm pass to scripts
 * (`npm_config_package` from an outer `npx -y pnpm@...` would become the nested npx's package,
 * `npm_config_local_prefix` npm install's target), keeping the user's npm settings.
 */
function cleanEnv(): NodeJS.ProcessEnv {
  const keep = /^npm_config_(cache|userconfig|globalconfig|registry|cafile|proxy|https_proxy|noproxy|strict_ssl)$/i;
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) || keep.test(key)));
}

function run(command: string, args: string[], cwd: string, stdio: StdioOptions = 'pipe'): string {
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', stdio, env: cleanEnv(), maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed:\n${e.stdout ?? ''}${e.stderr ?? ''}\n${e.message}`);
  }
}

/** pnpm as it was started (`npx pnpm@...` puts it on no PATH), else the one on PATH. */
function pnpm(args: string[], cwd: string): string {
  const execPath = process.env.npm_execpath;
  if (execPath !== undefined && /pnpm/.test(basename(execPath)) && !execPath.endsWith('.exe'))
    return run(process.execPath, [execPath, ...args], cwd);
  return run('pnpm', args, cwd);
}

/** `node` of another major version, fetched by npx from the registry: `npx -y -p node@22 node ...`. */
function nodeOf(major: string): [string, string[]] {
  return ['npx', ['-y', '-p', `node@${major}`, '--', 'node']];
}

function step(title: string): void {
  console.log(`check:release: ${title}`);
}

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? listFiles(join(dir, d.name), `${prefix}${d.name}/`) : [`${prefix}${d.name}`],
  );
}

interface Packed {
  readonly pkg: WorkspacePackage;
  readonly tarball: string;
  readonly kb: number;
}

function packAll(work: string): Packed[] {
  const out = join(work, 'tarballs');
  mkdirSync(out, { recursive: true });
  return publicPackages().map((pkg) => {
    const before = new Set(readdirSync(out));
    pnpm(['pack', '--pack-destination', out], pkg.dir);
    const made = readdirSync(out).filter((f) => !before.has(f));
    if (made.length !== 1) throw new Error(`${pkg.manifest.name}: pnpm pack made ${made.length} files`);
    const tarball = join(out, made[0]!);
    return { pkg, tarball, kb: statSync(tarball).size / 1024 };
  });
}

/** What a tarball may hold: the build, package.json, README, LICENSE. No sources, tests or test support. */
function checkTarball({ pkg, tarball, kb }: Packed, work: string): string[] {
  const problems: string[] = [];
  const name = pkg.manifest.name;
  const dir = join(work, 'unpacked', basename(tarball, '.tgz'));
  mkdirSync(dir, { recursive: true });
  run('tar', ['-xzf', tarball, '-C', dir], work);
  const files = listFiles(join(dir, 'package'));
  for (const f of files) {
    const allowed = /^(package\.json|README\.md|LICENSE)$/.test(f) || /^dist\/.+\.(c?js|d\.c?ts|cjs\.map|js\.map)$/.test(f);
    if (!allowed || /\.test\.|test-support/.test(f)) problems.push(`${name}: the tarball holds ${f}, which users do not need`);
  }
  for (const required of ['LICENSE', 'README.md']) if (!files.includes(required)) problems.push(`${name}: the tarball has no ${required}`);
  const manifest = JSON.parse(readFileSync(join(dir, 'package', 'package.json'), 'utf8')) as Record<string, unknown>;
  const text = JSON.stringify(manifest);
  if (text.includes('workspace:')) problems.push(`${name}: the published package.json still has a workspace: range`);
  if (text.includes('@pool/source')) problems.push(`${name}: the published exports still have the @pool/source condition`);
  const repository = manifest.repository as { directory?: string } | undefined;
  if (repository?.directory !== pkg.directory) problems.push(`${name}: repository.directory is not ${pkg.directory}`);
  for (const field of ['homepage', 'bugs', 'license', 'engines']) if (manifest[field] === undefined) problems.push(`${name}: no ${field}`);
  const publishConfig = manifest.publishConfig as { access?: string; provenance?: boolean } | undefined;
  if (publishConfig?.access !== 'public' || publishConfig.provenance !== true)
    problems.push(`${name}: publishConfig must have access public and provenance`);
  const budget = sizeBudgetKb(name);
  if (kb > budget)
    problems.push(`${name}: the tarball is ${kb.toFixed(1)} kB, above its budget of ${budget} kB (tools/release-check/src/size-budget.ts)`);
  return problems;
}

function consumerProject(dir: string, tarballs: string[], extra: string[]): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: 'pool-release-consumer', private: true, version: '0.0.0' }, null, 2)}\n`,
  );
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...tarballs, ...extra], dir);
}

function entryList(): { specifier: string; nativeEsm: boolean }[] {
  return publicPackages().flatMap((p) =>
    packageEntries(p.manifest).map((e) => ({
      specifier: e.subpath === '.' ? p.manifest.name : `${p.manifest.name}${e.subpath.slice(1)}`,
      nativeEsm: e.nativeEsm,
    })),
  );
}

/** A sample that imports every entry and fails to compile if any export is typed `any`, plus usage.ts. */
function typeSample(entries: { specifier: string }[]): string {
  const lines = ['type IsAny<T> = 0 extends 1 & T ? true : false;', 'type AnyMember<T> = { [K in keyof T]: IsAny<T[K]> }[keyof T];'];
  entries.forEach(({ specifier }, i) => {
    lines.push(`import * as entry${i} from '${specifier}';`);
    lines.push(`export const noAny${i}: false = null as unknown as AnyMember<typeof entry${i}>; // ${specifier}`);
  });
  return `${lines.join('\n')}\n`;
}

const RESOLUTIONS: Record<string, { compilerOptions: Record<string, unknown>; ext: string }> = {
  node10: { compilerOptions: { module: 'commonjs', moduleResolution: 'node10' }, ext: 'ts' },
  'node16-cjs': { compilerOptions: { module: 'node16', moduleResolution: 'node16' }, ext: 'cts' },
  'node16-esm': { compilerOptions: { module: 'node16', moduleResolution: 'node16' }, ext: 'mts' },
  bundler: { compilerOptions: { module: 'esnext', moduleResolution: 'bundler' }, ext: 'ts' },
};

function typeCheck(dir: string, entries: { specifier: string }[]): void {
  const sample = typeSample(entries);
  const usage = readFileSync(join(CONSUMER_TEMPLATE, 'usage.ts'), 'utf8');
  for (const [resolution, { compilerOptions, ext }] of Object.entries(RESOLUTIONS)) {
    const sub = join(dir, 'types', resolution);
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `entries.${ext}`), sample);
    writeFileSync(join(sub, `usage.${ext}`), usage);
    const tsconfig = {
      compilerOptions: {
        ...compilerOptions,
        target: 'es2022',
        lib: ['es2023'],
        types: ['node'],
        strict: true,
        noEmit: true,
        // Our declarations are checked through the sample; the peers' own .d.ts are theirs to check.
        skipLibCheck: true,
      },
      include: [`*.${ext}`],
    };
    writeFileSync(join(sub, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
    run(process.execPath, [join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', sub], dir);
    step(`types: ${entries.length} entries and usage.ts compile under ${resolution}`);
  }
}

function main(): void {
  const keep = process.argv.includes('--keep');
  const nodeArg = process.argv.indexOf('--node');
  const otherNodes = nodeArg === -1 ? [] : (process.argv[nodeArg + 1] ?? '').split(',').filter(Boolean);
  const work = mkdtempSync(join(tmpdir(), 'pool-release-'));
  try {
    const stale = syncPackages({ write: false });
    if (stale.length > 0) throw new Error(`package.json files out of date, run \`pnpm sync:packages\`: ${stale.join(', ')}`);
    step('every package.json matches its layout (pnpm sync:packages)');

    const packed = packAll(work);
    const problems = packed.flatMap((p) => checkTarball(p, work));
    if (problems.length > 0) throw new Error(`tarball problems:\n  ${problems.join('\n  ')}`);
    step(
      `packed ${packed.length} packages: ${packed.map((p) => `${p.pkg.manifest.name} ${p.kb.toFixed(1)}/${sizeBudgetKb(p.pkg.manifest.name)} kB`).join(', ')}`,
    );

    const root = JSON.parse(readFileSync(join(REPOSITORY_ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    const consumer = join(work, 'consumer');
    // Peers users install beside the packages (drivers, prom-client, OpenTelemetry's API), the
    // oldest vitest the testkit supports, and TypeScript.
    consumerProject(
      consumer,
      packed.map((p) => p.tarball),
      [
        'pg',
        '@types/pg',
        'mysql2',
        'ioredis',
        'prom-client',
        '@opentelemetry/api',
        `typescript@${root.devDependencies.typescript}`,
        '@types/node@22',
        `vitest@${OLDEST_VITEST}`,
      ],
    );
    step(`installed the tarballs with npm into ${consumer}`);

    const entries = entryList();
    for (const file of ['load.mjs', 'load.cjs', 'conformance.test.mjs']) cpSync(join(CONSUMER_TEMPLATE, file), join(consumer, file));
    writeFileSync(join(consumer, 'entries.json'), JSON.stringify(entries, null, 2));
    for (const [command, args] of [[process.execPath, []] as [string, string[]], ...otherNodes.map(nodeOf)]) {
      console.log(run(command, [...args, 'load.mjs'], consumer).trim());
      console.log(run(command, [...args, 'load.cjs'], consumer).trim());
    }

    typeCheck(consumer, entries);

    const vitestBin = (dir: string) => join(dir, 'node_modules', 'vitest', 'vitest.mjs');
    const vitestVersion = (dir: string) =>
      (JSON.parse(readFileSync(join(dir, 'node_modules', 'vitest', 'package.json'), 'utf8')) as { version: string }).version;
    run(process.execPath, [vitestBin(consumer), 'run', 'conformance.test.mjs'], consumer);
    step(`conformance suite passes under vitest ${vitestVersion(consumer)} (the oldest supported)`);

    const newest = join(work, 'vitest-newest');
    consumerProject(
      newest,
      packed.filter((p) => ['@pool/core', '@pool/testkit'].includes(p.pkg.manifest.name)).map((p) => p.tarball),
      [`vitest@^${NEWEST_VITEST}`],
    );
    cpSync(join(CONSUMER_TEMPLATE, 'conformance.test.mjs'), join(newest, 'conformance.test.mjs'));
    const [node22, node22Args] = nodeOf('22');
    run(node22, [...node22Args, vitestBin(newest), 'run', 'conformance.test.mjs'], newest);
    step(`conformance suite passes under vitest ${vitestVersion(newest)} (the newest supported, on Node 22)`);
    console.log('check:release: ok');
  } finally {
    if (keep) console.log(`check:release: kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

main();
