import { defineConfig } from 'vitest/config';
import { packageTests } from '../vitest.shared.js';

export default defineConfig(
  packageTests({
    setupFiles: ['src/support/strict-setup.ts'],
    // The soak and the restart tests run for real time; everything else is fake time or quick.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  }),
);
