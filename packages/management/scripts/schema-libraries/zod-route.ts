// The resize route with zod 4 and @hono/zod-openapi: one definition validates, types and documents.
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';

export const name = 'zod + @hono/zod-openapi';

const ResizeRequest = z
  .strictObject({
    minSize: z.number().int().min(0).max(1_000_000).optional(),
    maxSize: z.number().int().min(1).max(1_000_000).optional(),
  })
  .openapi('ResizeRequest');
const ResizeResult = z.object({ minSize: z.number().int(), maxSize: z.number().int() }).openapi('ResizeResult');

const route = createRoute({
  method: 'post',
  path: '/pools/{pool}/resize',
  request: {
    params: z.object({ pool: z.string().min(1).max(256) }),
    body: { content: { 'application/json': { schema: ResizeRequest } } },
  },
  responses: { 200: { description: 'The new bounds', content: { 'application/json': { schema: ResizeResult } } } },
});

export const app = new OpenAPIHono();
app.openapi(route, (c) => {
  const body = c.req.valid('json');
  return c.json({ minSize: body.minSize ?? 0, maxSize: body.maxSize ?? 1 }, 200);
});
app.doc31('/openapi.json', { openapi: '3.1.0', info: { title: 'compare', version: '1' } });

export function validate(body: unknown): { ok: boolean; issues: string[] } {
  const r = ResizeRequest.safeParse(body);
  return r.success
    ? { ok: true, issues: [] }
    : {
        ok: false,
        issues: r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.code}${'keys' in i ? ` ${String(i.keys)}` : ''}`),
      };
}

export function output(body: unknown): unknown {
  const r = ResizeRequest.safeParse(body);
  return r.success ? r.data : null;
}
