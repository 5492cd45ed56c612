import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.shared.js';

// Entries, formats and the ESM wrappers come from package.json (see tools/release-check/src/package-layout.ts).
export default defineConfig(libraryBuild());
