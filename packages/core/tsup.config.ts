import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.shared.js';

// Two entry points: the engine, and `@pool/core/adapter` (plumbing for driver adapters). The adapter
// entry imports the engine as `@pool/core`, kept external, so both share one copy of its classes
// (`PoolConfig`, `InvalidConfigError`... stay the same for `instanceof`).
export default defineConfig(
  libraryBuild({ entry: { index: 'src/index.ts', 'adapter/index': 'src/adapter/index.ts' }, external: ['@pool/core'] }),
);
