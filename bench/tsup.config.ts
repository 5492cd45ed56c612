import { defineConfig } from 'tsup';

// The harness is a program, not a library: three ESM entry points, dependencies left as imports so the
// children load @pool/core's built dist (and each peer) exactly as an application would.
export default defineConfig({
  entry: ['src/cli.ts', 'src/worker.ts', 'src/adaptive.ts'],
  format: ['esm'],
  dts: false,
  clean: true,
  sourcemap: true,
  target: 'node20',
  platform: 'node',
  splitting: false,
  skipNodeModulesBundle: true,
  // Private and source-only (TypeScript), so bundled: the adaptive benchmark's pinned private PostgreSQL.
  noExternal: ['@pool/test-servers'],
});
