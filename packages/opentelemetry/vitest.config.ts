import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';
import { packageTests } from '../../vitest.shared.js';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

export default defineConfig({ ...packageTests(), define: { __POOL_OPENTELEMETRY_VERSION__: JSON.stringify(version) } });
