import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.shared.js';

// Two entry points: the main one never imports prom-client (an optional peer dependency);
// `@pool/cluster/prometheus` is the collector.
export default defineConfig(
  libraryBuild({ entry: ['src/index.ts', 'src/prometheus.ts'], external: ['@pool/core', 'ioredis', 'prom-client'] }),
);
