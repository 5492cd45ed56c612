import { getPoolSize } from '../api.js';
import { ManagementError } from '../errors.js';
import {
  DrainRequest,
  DrainResult,
  EmptyRequest,
  EvictResult,
  NoQuery,
  PartitionParams,
  PoolParams,
  ResizeRequest,
  ResizeResult,
  SuspendResult,
} from '../schemas.js';
import { jsonResponse, type RouteContext, type RouteTable } from './define.js';

const admin = { tag: 'actions', access: 'admin', errors: [400, 404, 409, 413, 415] } as const;
const ok = <S>(description: string, schema: S, status: 200 | 202 = 200) => ({
  [status]: { description, content: { 'application/json': { schema } } },
});
const body = <S>(schema: S) => ({ required: true, content: { 'application/json': { schema } } });

/** The operator actions (admin token): resize, evict, suspend, resume, drain a partition. */
export function actionRoutes(table: RouteTable, ctx: RouteContext): void {
  const json = (data: unknown, status = 200) => jsonResponse(data, ctx.redaction, status);
  table.add(
    admin,
    {
      method: 'post',
      path: '/pools/{pool}/resize',
      operationId: 'resizePool',
      summary: 'Change minSize and/or maxSize (validated; shrinking closes idle connections now, borrowed ones as they return)',
      request: { params: PoolParams, query: NoQuery, body: body(ResizeRequest) },
      responses: ok('The new bounds', ResizeResult),
    },
    (c) => {
      const e = ctx.entry(c.req.valid('param').pool);
      const b = c.req.valid('json');
      const current = e.pool.config;
      const minSize = b.minSize ?? current.minSize;
      const maxSize = b.maxSize ?? current.maxSize;
      if (minSize > maxSize) {
        const field = b.minSize !== undefined ? 'minSize' : 'maxSize';
        throw new ManagementError(
          400,
          `body.${field} = ${b[field]}: minSize (${minSize}) must not exceed maxSize (${maxSize})${b.maxSize === undefined ? ', the current maxSize' : b.minSize === undefined ? ', the current minSize' : ''}`,
          { field: `body.${field}` },
        );
      }
      const sizes: { minSize?: number; maxSize?: number } = {};
      if (b.minSize !== undefined) sizes.minSize = minSize;
      if (b.maxSize !== undefined) sizes.maxSize = maxSize;
      const config = e.pool.resize(sizes);
      return json({ minSize: config.minSize, maxSize: config.maxSize, size: getPoolSize(e.pool) });
    },
  );
  table.add(
    admin,
    {
      method: 'post',
      path: '/pools/{pool}/evict',
      operationId: 'evictIdle',
      summary: 'Soft eviction: close idle connections now, retire borrowed ones when they return, refill to minSize',
      request: { params: PoolParams, query: NoQuery, body: body(EmptyRequest) },
      responses: ok('How many were closed now', EvictResult),
    },
    (c) => {
      const e = ctx.entry(c.req.valid('param').pool);
      const evicted = e.pool.evictIdle();
      return json({ evicted, size: getPoolSize(e.pool) });
    },
  );
  for (const [action, suspend] of [
    ['suspend', true],
    ['resume', false],
  ] as const) {
    table.add(
      admin,
      {
        method: 'post',
        path: `/pools/{pool}/${action}`,
        operationId: suspend ? 'suspendPool' : 'resumePool',
        summary: suspend
          ? 'Stop handing out connections (waiting callers keep waiting within their deadlines). Idempotent'
          : 'Hand out connections again and serve the waiters. Idempotent',
        request: { params: PoolParams, query: NoQuery, body: body(EmptyRequest) },
        responses: ok(suspend ? 'Suspended' : 'Resumed', SuspendResult),
      },
      (c) => {
        const e = ctx.entry(c.req.valid('param').pool);
        if (suspend) e.pool.suspend();
        else e.pool.resume();
        return json({ suspended: e.pool.suspended, size: getPoolSize(e.pool) });
      },
    );
  }
  table.add(
    admin,
    {
      method: 'post',
      path: '/pools/{pool}/partitions/{partition}/drain',
      operationId: 'drainPartition',
      summary: 'Drain a partition: refuse new acquires, serve or fail its waiters, remove it once its borrows are back',
      description: 'Answers 202 at once; GET the partition to follow it (state draining, then 404 once removed).',
      request: { params: PartitionParams, query: NoQuery, body: body(DrainRequest) },
      responses: ok('Draining', DrainResult, 202),
    },
    (c) => {
      const { pool, partition: id } = c.req.valid('param');
      const e = ctx.entry(pool);
      const manager = ctx.manager(e);
      ctx.partition(e, id);
      if (typeof manager.removePartition !== 'function') {
        throw new ManagementError(409, `The partition manager of pool '${e.name}' cannot drain partitions (it has no removePartition())`);
      }
      const waiters = c.req.valid('json').waiters ?? 'serve';
      manager.removePartition(id, { waiters }).catch((error: unknown) => ctx.onError(error));
      return json({ partition: id, state: 'draining', waiters }, 202);
    },
  );
}
