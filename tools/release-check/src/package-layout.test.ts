import { describe, expect, it } from 'vitest';
import { internalPeerRange, layOutManifest, packageEntries } from './package-layout.js';

const versions = new Map([
  ['@pool/core', '0.3.0'],
  ['@pool/new', '0.3.0'],
]);

describe('package layout', () => {
  it('gives a new package with no exports the single entry src/index.ts, and everything it publishes', () => {
    const out = layOutManifest(
      { name: '@pool/new', version: '0.3.0', peerDependencies: { '@pool/core': 'workspace:^', pg: '^8.11.0' } },
      'packages/new',
      versions,
    );
    expect(out.exports).toEqual({
      '.': {
        '@pool/source': './src/index.ts',
        import: { types: './dist/index.d.ts', default: './dist/index.js' },
        require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
      },
      './package.json': './package.json',
    });
    expect(out).toMatchObject({
      main: './dist/index.cjs',
      types: './dist/index.d.cts',
      files: ['dist'],
      license: 'MIT',
      repository: { directory: 'packages/new' },
      publishConfig: { access: 'public', provenance: true },
      peerDependencies: { '@pool/core': 'workspace:>=0.3.0 <1.0.0', pg: '^8.11.0' },
      scripts: { build: 'tsup', test: 'vitest run' },
    });
    expect(out.typesVersions).toBeUndefined();
    expect(JSON.stringify((out.publishConfig as { exports: unknown }).exports)).not.toContain('@pool/source');
  });

  it('maps each subpath for node10 through typesVersions and keeps closed subpaths and other fields', () => {
    const out = layOutManifest(
      {
        name: '@pool/core',
        version: '0.3.0',
        description: 'kept',
        module: './dist/index.js',
        scripts: { extra: 'node x.js' },
        exports: {
          '.': { '@pool/source': './src/index.ts' },
          './adapter': { '@pool/source': './src/adapter/index.ts' },
          './internal/*': null,
        },
      },
      'packages/core',
      versions,
    );
    expect(out.typesVersions).toEqual({ '*': { adapter: ['./dist/adapter/index.d.cts'] } });
    expect(Object.keys(out.exports ?? {})).toEqual(['.', './adapter', './internal/*', './package.json']);
    expect(out.description).toBe('kept');
    expect(out.module).toBeUndefined();
    expect((out.scripts as Record<string, string>).extra).toBe('node x.js');
  });

  it('refuses an entry whose source is not a TypeScript file under src/', () => {
    expect(() => packageEntries({ name: '@pool/x', version: '0.1.0', exports: { '.': { '@pool/source': './lib/index.js' } } })).toThrow(
      /exports\["\."\]\["@pool\/source"\] = "\.\/lib\/index\.js": must be \.\/src\/<path>\.ts/,
    );
  });

  it('marks the entries that import an ESM-only library as native ESM', () => {
    const entries = packageEntries({
      name: '@pool/testkit',
      version: '0.1.0',
      exports: { '.': { '@pool/source': './src/index.ts' }, './conformance': { '@pool/source': './src/conformance.ts' } },
    });
    expect(entries.map((e) => [e.subpath, e.nativeEsm])).toEqual([
      ['.', false],
      ['./conformance', true],
    ]);
  });

  it('keeps internal peer ranges open within 0.x and caret from 1.0', () => {
    expect(internalPeerRange('0.2.0')).toBe('workspace:>=0.2.0 <1.0.0');
    expect(internalPeerRange('1.4.2')).toBe('workspace:^');
  });
});
