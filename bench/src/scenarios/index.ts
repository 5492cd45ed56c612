import type { Scenario } from '../scenario.js';
import { clusterBorrow, clusterChurn } from './cluster.js';
import { mysqlCluster } from './mysql-cluster.js';
import { observability } from './observability.js';
import { coreAB, opentelemetryOverhead } from './opentelemetry.js';
import { overload } from './overload.js';
import { partitionFlood } from './partition-flood.js';
import { churn, contended100, contended1000, uncontended, validateOnBorrow } from './pools.js';
import { postgres } from './postgres.js';
import { replicaRouting, replicaRoutingCpu } from './replica-routing.js';
import { cancelWaiters, queuedWaiters } from './waiters.js';

/**
 * Every scenario, in run order. Adding one is a file exporting a {@link Scenario} plus a line here; a
 * new subject of an existing scenario is a name in its `subjects` and a case in its `run`.
 */
export const SCENARIOS: readonly Scenario[] = [
  uncontended,
  contended100,
  contended1000,
  churn,
  validateOnBorrow,
  queuedWaiters,
  cancelWaiters,
  postgres,
  replicaRouting,
  replicaRoutingCpu,
  observability,
  opentelemetryOverhead,
  overload,
  partitionFlood,
  clusterBorrow,
  clusterChurn,
  mysqlCluster,
  coreAB,
];

/** The scenario with `id`, or an error listing the known ids. */
export function scenarioById(id: string): Scenario {
  const s = SCENARIOS.find((x) => x.id === id);
  if (s === undefined) throw new Error(`unknown scenario '${id}'; known: ${SCENARIOS.map((x) => x.id).join(', ')}`);
  return s;
}
