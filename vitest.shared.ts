import type { ViteUserConfig } from 'vitest/config';

/**
 * The test setup every package uses. Workspace packages resolve to their TypeScript sources through
 * the `@pool/source` export condition, so tests never need a build and always see the current code.
 */
export function packageTests(overrides: ViteUserConfig['test'] = {}): ViteUserConfig {
  return {
    resolve: { conditions: ['@pool/source', 'node', 'default'] },
    ssr: { resolve: { conditions: ['@pool/source', 'node', 'default'] } },
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      environment: 'node',
      testTimeout: 20_000,
      hookTimeout: 30_000,
      ...overrides,
    },
  };
}
