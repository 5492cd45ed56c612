import { defineConfig } from 'vitest/config';
import { packageTests } from '../../vitest.shared.js';

// The shared config resolves with the conditions ['@pool/source', 'module', 'node', 'import', 'default'],
// and vitest hands them to Node as --conditions flags. With 'import' among them, node-postgres's
// `require('pg-pool')` loads pg-pool's ESM build and `class extends Pool` fails. Dropping 'import' and
// 'module' keeps the '@pool/source' condition (workspace sources) and lets Node pick 'import' or
// 'require' per call, as it does in production.
const config = packageTests();
const conditions = ['@pool/source', 'node', 'default'];
if (config.resolve) config.resolve.conditions = conditions;
if (config.ssr?.resolve) config.ssr.resolve.conditions = conditions;

export default defineConfig(config);
