import { getPartitionStatistics, listPartitions } from '../api.js';
import { NoQuery, PartitionDetails, PartitionList, PartitionParams, PartitionStatisticsMap, PoolParams } from '../schemas.js';
import { jsonResponse, type RouteContext, type RouteTable } from './define.js';

const read = { tag: 'partitions', access: 'read', errors: [400, 404] } as const;
const ok = <S>(description: string, schema: S) => ({ 200: { description, content: { 'application/json': { schema } } } });

/** The partition routes of a pool with a partition manager. */
export function partitionRoutes(table: RouteTable, ctx: RouteContext): void {
  const json = (data: unknown) => jsonResponse(data, ctx.redaction);
  table.add(
    read,
    {
      method: 'get',
      path: '/pools/{pool}/partitions',
      operationId: 'listPartitions',
      summary: "The pool's partitions (the seed's list_partitions)",
      request: { params: PoolParams, query: NoQuery },
      responses: ok('The partitions', PartitionList),
    },
    (c) => json({ partitions: listPartitions(ctx.manager(ctx.entry(c.req.valid('param').pool)), ctx.redaction) }),
  );
  table.add(
    read,
    {
      method: 'get',
      path: '/pools/{pool}/partition-statistics',
      operationId: 'getPartitionStatistics',
      summary: "Every partition's statistics, by id (the seed's get_partition_statistics)",
      request: { params: PoolParams, query: NoQuery },
      responses: ok('The statistics', PartitionStatisticsMap),
    },
    (c) => json(getPartitionStatistics(ctx.manager(ctx.entry(c.req.valid('param').pool)), ctx.redaction)),
  );
  table.add(
    read,
    {
      method: 'get',
      path: '/pools/{pool}/partitions/{partition}',
      operationId: 'getPartition',
      summary: 'One partition and its statistics',
      request: { params: PartitionParams, query: NoQuery },
      responses: ok('The partition', PartitionDetails),
    },
    (c) => {
      const { pool, partition: id } = c.req.valid('param');
      const e = ctx.entry(pool);
      const partition = ctx.partition(e, id);
      const statistics = (ctx.manager(e).getPartitionStatistics() as Record<string, unknown>)[id];
      return json({ partition, statistics });
    },
  );
}
