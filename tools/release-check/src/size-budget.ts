/**
 * How big a package's tarball may be (`pnpm pack`, gzipped), in kB. A tarball holds the CommonJS build
 * with its source map (sources embedded, so stack traces and debuggers show the TypeScript without
 * shipping src/), the declarations, the ESM wrapper, package.json, README and LICENSE. `pnpm check:release` fails above it,
 * so a stray file or an accidentally bundled dependency is caught before it is published. The budgets
 * are the sizes measured when they were set plus about a third, rounded up; raise one deliberately,
 * with the reason in the commit. A package not listed gets the default.
 */
export const DEFAULT_BUDGET_KB = 60;

export const SIZE_BUDGETS_KB: Readonly<Record<string, number>> = {
  // measured 2026-12-07 (kB): 173
  '@pool/core': 230,
  // 138: the dashboard's page and script ship in the build
  '@pool/management': 185,
  // 114
  '@pool/testkit': 150,
  // 86
  '@pool/cluster': 115,
  // 86
  '@pool/monitoring': 115,
  // 72
  '@pool/partitioning': 95,
  // 70; 96.9 with createMysqlPoolCluster (PoolCluster parity) and the logger
  '@pool/mysql': 130,
  // 53
  '@pool/queue': 70,
  // 36
  '@pool/opentelemetry': 50,
  // 34
  '@pool/redis': 45,
  // 33; 112.4 with the pg.Pool facade (events, callbacks, pg's own Client), multi-host (libpq config,
  // MultiHostPgFactory, host monitor) and createPgReplicaPool
  '@pool/pg': 150,
  // 23
  '@pool/prometheus': 32,
};

export function sizeBudgetKb(name: string): number {
  return SIZE_BUDGETS_KB[name] ?? DEFAULT_BUDGET_KB;
}
