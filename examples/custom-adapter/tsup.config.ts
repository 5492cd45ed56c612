import { defineConfig } from 'tsup';

// ESM + CommonJS + declarations for both, for Node 20. @pool/core is a peer dependency, so tsup leaves
// it external: the application's one copy of the engine is the one the adapter uses.
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  platform: 'node',
  splitting: false,
  treeshake: true,
});
