import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.shared.js';

// Two entry points: the main one has no vitest import (the simulated factory, fault injection and the
// TCP proxy are usable anywhere); `@pool/testkit/conformance` is the vitest suite.
export default defineConfig(libraryBuild({ entry: ['src/index.ts', 'src/conformance.ts'], external: ['vitest', '@pool/core'] }));
