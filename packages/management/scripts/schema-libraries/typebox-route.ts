// The resize route with TypeBox (JSON Schema builders with static types) validated by ajv.
import { Ajv } from 'ajv';
import { Hono } from 'hono';
import Type from 'typebox';

export const name = 'TypeBox + ajv';

const ResizeRequest = Type.Object(
  {
    minSize: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    maxSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
  },
  { additionalProperties: false },
);
const ResizeResult = Type.Object({ minSize: Type.Integer(), maxSize: Type.Integer() });

const ajv = new Ajv({ allErrors: false, strict: true });
const check = ajv.compile(ResizeRequest);

export const app = new Hono();
app.post('/pools/:pool/resize', async (c) => {
  const body = await c.req.json();
  if (!check(body)) return c.json({ error: ajv.errorsText(check.errors) }, 400);
  const b = body as { minSize?: number; maxSize?: number };
  return c.json({ minSize: b.minSize ?? 0, maxSize: b.maxSize ?? 1 });
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
    components: { schemas: { ResizeRequest, ResizeResult } },
  }),
);

export function validate(body: unknown): { ok: boolean; issues: string[] } {
  return check(body)
    ? { ok: true, issues: [] }
    : { ok: false, issues: (check.errors ?? []).map((e) => `${e.instancePath || '(root)'}: ${e.keyword} ${JSON.stringify(e.params)}`) };
}

export function output(body: unknown): unknown {
  return check(body) ? body : null;
}
