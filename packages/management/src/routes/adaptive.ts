import { ManagementError } from '../errors.js';
import { NoQuery, PoolParams } from '../schemas.js';
import { AdaptiveLimit } from '../schemas-adaptive.js';
import { jsonResponse, type RouteContext, type RouteTable } from './define.js';

/** `GET /pools/{pool}/adaptive`: the pool's adaptive limit (`@pool/adaptive`). */
export function adaptiveRoutes(table: RouteTable, ctx: RouteContext): void {
  table.add(
    { tag: 'monitoring', access: 'read', errors: [400, 404] },
    {
      method: 'get',
      path: '/pools/{pool}/adaptive',
      operationId: 'getAdaptiveLimit',
      summary: "The pool's adaptive limit (@pool/adaptive): where it stands, within which bounds, and why it last moved",
      description:
        'The limit the adaptive limiter allows now, its floor and ceiling, the measured and baseline use time, throughput, the count of changes up and down, and the last change with its reason. 404 when no adaptive limiter is configured for the pool.',
      request: { params: PoolParams, query: NoQuery },
      responses: { 200: { description: 'The adaptive limit', content: { 'application/json': { schema: AdaptiveLimit } } } },
    },
    (c) => {
      const e = ctx.entry(c.req.valid('param').pool);
      if (e.adaptive === null) throw new ManagementError(404, `Pool '${e.name}' has no adaptive limit configured`);
      return jsonResponse(e.adaptive.statistics(), ctx.redaction);
    },
  );
}
