import { getPoolConfig, getPoolSize, getPoolStatistics, getQueueStatistics } from '../api.js';
import { ManagementError } from '../errors.js';
import { leaksOf, type PoolEntry } from '../pools.js';
import {
  ClusterBudget,
  ConnectionList,
  HostList,
  LeakList,
  NoQuery,
  PoolConfig,
  PoolDetails,
  PoolList,
  PoolParams,
  PoolSize,
  PoolStatistics,
  QueueStatistics,
} from '../schemas.js';
import { jsonResponse, type RouteContext, type RouteTable } from './define.js';

const read = { tag: 'pools', access: 'read', errors: [400, 404] } as const;
const ok = <S>(description: string, schema: S) => ({ 200: { description, content: { 'application/json': { schema } } } });

function summary(e: PoolEntry) {
  return { name: e.name, state: e.pool.state, suspended: e.pool.suspended, size: getPoolSize(e.pool), features: e.features };
}

/** The pool routes: the list, one pool, its configuration, counters, size, connections, queue, leaks and budget. */
export function poolRoutes(table: RouteTable, ctx: RouteContext): void {
  const json = (data: unknown) => jsonResponse(data, ctx.redaction);
  const params = { params: PoolParams, query: NoQuery };
  table.add(
    { ...read, errors: [400] },
    {
      method: 'get',
      path: '/pools',
      operationId: 'listPools',
      summary: 'The managed pools, with their size and what is configured for each',
      request: { query: NoQuery },
      responses: ok('The pools', PoolList),
    },
    () => json({ pools: ctx.entries().map(summary) }),
  );
  table.add(
    read,
    {
      method: 'get',
      path: '/pools/{pool}',
      operationId: 'getPool',
      summary: 'One pool: size, configuration and counters',
      request: params,
      responses: ok('The pool', PoolDetails),
    },
    (c) => {
      const e = ctx.entry(c.req.valid('param').pool);
      return json({ ...summary(e), config: getPoolConfig(e.pool, ctx.redaction), statistics: getPoolStatistics(e.pool, ctx.redaction) });
    },
  );
  table.add(
    read,
    {
      method: 'get',
      path: '/pools/{pool}/config',
      operationId: 'getPoolConfig',
      summary: "The pool's configuration (the seed's get_pool_config); credentials redacted",
      request: params,
      responses: ok('The configuration', PoolConfig),
    },
    (c) => json(getPoolConfig(ctx.entry(c.req.valid('param').pool).pool, ctx.redaction)),
  );
  table.add(
    read,
    {
      method: 'get',
      path: '/pools/{pool}/statistics',
      operationId: 'getPoolStatistics',
      summary: "The pool's own counters (the seed's get_pool_statistics)",
      description:
        "The counters of the pool itself: a caller that waited or failed in a partition's queue never reached it. GET /overview (or /pools/{pool}/monitor) counts every caller.",
      request: params,
      responses: ok('The counters', PoolStatistics),
    },
    (c) => json(getPoolStatistics(ctx.entry(c.req.valid('param').pool).pool, ctx.redaction)),
  );
  table.add(
    read,
    {
      method: 'get',
      path: '/pools/{pool}/size',
      operationId: 'getPoolSize',
      summary: "Total, idle, active, pending and waiting (the seed's get_pool_size)",
      request: params,
      responses: ok('The size', PoolSize),
    },
    (c) => json(getPoolSize(ctx.entry(c.req.valid('param').pool).pool)),
  );
  table.add(
    read,
    {
      method: 'get',
      path: '/pools/{pool}/connections',
      operationId: 'listConnections',
      summary: 'Every open connection: state, age, borrows, current borrow (context redacted; no owner, no stack)',
      request: params,
      responses: ok('The connections', ConnectionList),
    },
    (c) =>
      json({
        connections: ctx
          .entry(c.req.valid('param').pool)
          .pool.connections()
          .map(({ owner: _o, stack: _s, ...rest }) => rest),
      }),
  );
  table.add(
    read,
    {
      method: 'get',
      path: '/pools/{pool}/queue',
      operationId: 'getQueueStatistics',
      summary: "The wait queue by priority (the seed's get_queue_statistics)",
      request: params,
      responses: ok('The queue', QueueStatistics),
    },
    (c) => json(getQueueStatistics(ctx.entry(c.req.valid('param').pool).queue)),
  );
  table.add(
    { ...read, tag: 'monitoring' },
    {
      method: 'get',
      path: '/pools/{pool}/leaks',
      operationId: 'getDetectedLeaks',
      summary: "Borrows held past the leak threshold (the seed's get_detected_leaks)",
      description:
        "A LeakDetector's reports for this pool when one is configured, otherwise the borrows the pool flagged itself (leakDetectionThresholdMs).",
      request: params,
      responses: ok('The leaks', LeakList),
    },
    (c) => {
      const { source, reports } = leaksOf(ctx.entry(c.req.valid('param').pool));
      return json({ source, leaks: reports });
    },
  );
  table.add(
    { ...read, tag: 'monitoring' },
    {
      method: 'get',
      path: '/pools/{pool}/budget',
      operationId: 'getClusterBudget',
      summary: "The cluster-wide connection budget the pool's connections hold slots of (@pool/cluster)",
      description:
        "This instance's view of the budget (no Redis call): its state ('degraded' while Redis is unreachable, with the fallback cap in force), the global limit and use, leases held, waiting requests and counters. 404 when no budget is configured for the pool.",
      request: params,
      responses: ok('The budget', ClusterBudget),
    },
    (c) => {
      const e = ctx.entry(c.req.valid('param').pool);
      if (e.budget === null) throw new ManagementError(404, `Pool '${e.name}' has no cluster budget configured`);
      return json(e.budget.statistics());
    },
  );
  table.add(
    { ...read, tag: 'monitoring' },
    {
      method: 'get',
      path: '/pools/{pool}/hosts',
      operationId: 'getPoolHosts',
      summary: 'The servers behind a multi-host pool: role, state, replica lag and connections of each',
      description:
        "Each host of a multi-host pool (@pool/pg's createPgReplicaPool): its role ('primary', 'standby'), state ('up', 'lagging', 'down'), replay lag, read weight, connections and reads served. 404 when the pool has no hosts component.",
      request: params,
      responses: ok('The hosts', HostList),
    },
    (c) => {
      const e = ctx.entry(c.req.valid('param').pool);
      if (e.hosts === null) throw new ManagementError(404, `Pool '${e.name}' has no hosts configured (give hosts: a PgReplicaPool)`);
      return json({ hosts: e.hosts.hostStatistics() });
    },
  );
}
