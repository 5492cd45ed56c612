// The resize route with valibot and @valibot/to-json-schema (the OpenAPI document assembled by hand around the converted schema).
import { toJsonSchema } from '@valibot/to-json-schema';
import { Hono } from 'hono';
import * as v from 'valibot';

export const name = 'valibot + @valibot/to-json-schema';

const ResizeRequest = v.strictObject({
  minSize: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1_000_000))),
  maxSize: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000_000))),
});
const ResizeResult = v.object({ minSize: v.pipe(v.number(), v.integer()), maxSize: v.pipe(v.number(), v.integer()) });

export const app = new Hono();
app.post('/pools/:pool/resize', async (c) => {
  const r = v.safeParse(ResizeRequest, await c.req.json());
  if (!r.success) return c.json({ error: r.issues.map((i) => i.message) }, 400);
  return c.json({ minSize: r.output.minSize ?? 0, maxSize: r.output.maxSize ?? 1 });
});
app.get('/openapi.json', (c) =>
  c.json({
    openapi: '3.1.0',
    info: { title: 'compare', version: '1' },
    paths: {
      '/pools/{pool}/resize': {
        post: {
          parameters: [{ name: 'pool', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/ResizeRequest' } } } },
          responses: {
            200: {
              description: 'The new bounds',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/ResizeResult' } } },
            },
          },
        },
      },
    },
    components: { schemas: { ResizeRequest: toJsonSchema(ResizeRequest), ResizeResult: toJsonSchema(ResizeResult) } },
  }),
);

export function validate(body: unknown): { ok: boolean; issues: string[] } {
  const r = v.safeParse(ResizeRequest, body);
  return r.success
    ? { ok: true, issues: [] }
    : { ok: false, issues: r.issues.map((i) => `${i.path?.map((p) => String(p.key)).join('.') ?? '(root)'}: ${i.type} ${i.message}`) };
}

export function output(body: unknown): unknown {
  const r = v.safeParse(ResizeRequest, body);
  return r.success ? r.output : null;
}
