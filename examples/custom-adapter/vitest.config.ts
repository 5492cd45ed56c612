import { defineConfig } from 'vitest/config';

// In this repository the tests resolve @pool/* to their TypeScript sources (the '@pool/source' export
// condition), so no build is needed; a published adapter tests against the @pool/core it installed
// and drops the `conditions` lines.
const conditions = ['@pool/source', 'node', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
