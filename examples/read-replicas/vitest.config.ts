import { defineConfig } from 'vitest/config';
import { packageTests } from '../../vitest.shared.js';

// The smoke test runs the example as its own process (see test/), so this only tells vitest where tests are.
export default defineConfig(packageTests({ testTimeout: 60_000 }));
