import { defineConfig } from 'vitest/config';
import { packageTests } from '../../vitest.shared.js';

// Every test here drives the limiter with fake timers over simulated minutes of closed-loop load: pure
// CPU, nothing waits on the wall clock. About 2 s on an idle core, ten times that when the whole suite
// shares two busy cores (turbo runs packages side by side), so the timeout only guards against a hang.
export default defineConfig(packageTests({ testTimeout: 120_000 }));
