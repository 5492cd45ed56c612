// The same route with hono alone and no validation: the baseline the three libraries add to.
import { Hono } from 'hono';

export const app = new Hono();
app.post('/pools/:pool/resize', async (c) => c.json(await c.req.json()));
app.get('/openapi.json', (c) => c.json({ openapi: '3.1.0', info: { title: 'compare', version: '1' }, paths: {} }));
