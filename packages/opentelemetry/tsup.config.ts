import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.shared.js';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

// The meter's and tracer's instrumentation-scope version is the package's own.
export default defineConfig(libraryBuild({ define: { __POOL_OPENTELEMETRY_VERSION__: JSON.stringify(version) } }));
