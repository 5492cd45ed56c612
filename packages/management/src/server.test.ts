import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidConfigError } from '@pool/core';
import express from 'express';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createManagementApp, serveManagement } from './index.js';
import { ADMIN_TOKEN, READ_TOKEN, simulatedPool } from './test-support/fixtures.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function pool() {
  const { pool } = await simulatedPool({ closeTimeoutMs: 200 }, { name: 'main' });
  cleanups.push(() => pool.close());
  return pool;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
    cleanups.push(() => new Promise((r) => server.close(r)));
  });
}

const auth = (token = READ_TOKEN) => ({ authorization: `Bearer ${token}` });

describe('serveManagement', () => {
  it('listens on 127.0.0.1 by default and serves the API and the dashboard', async () => {
    const server = await serveManagement({ pools: [await pool()], auth: { readToken: READ_TOKEN }, port: 0 });
    cleanups.push(() => server.close());
    expect(server.host).toBe('127.0.0.1');
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const size = await fetch(`${server.url}/pools/main/size`, { headers: auth() });
    expect(size.status).toBe(200);
    expect(await size.json()).toMatchObject({ total: 1, idle: 1 });
    const page = await fetch(`${server.url}/dashboard`);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect((await fetch(`${server.url}/pools/main/size`)).status).toBe(401);
  });

  it('refuses to listen beyond loopback without a token, and allows it with one', async () => {
    const p = await pool();
    await expect(serveManagement({ pools: [p], auth: false, port: 0, host: '0.0.0.0' })).rejects.toThrow(
      /refusing to expose pool management to the network without a token/,
    );
    await expect(serveManagement({ pools: [p], auth: false, port: 0, host: '::' })).rejects.toThrow(InvalidConfigError);
    const open = await serveManagement({ pools: [p], auth: false, port: 0, host: 'localhost' });
    cleanups.push(() => open.close());
    const wide = await serveManagement({ pools: [p], auth: { readToken: READ_TOKEN }, port: 0, host: '0.0.0.0' });
    cleanups.push(() => wide.close());
    const res = await fetch(`http://127.0.0.1:${wide.port}/pools`, { headers: auth() });
    expect(res.status).toBe(200);
  });

  it('serves an existing app and rejects bad ports', async () => {
    const app = createManagementApp({ pools: [await pool()], auth: { readToken: READ_TOKEN }, basePath: '/admin' });
    cleanups.push(() => app.close());
    const server = await serveManagement({ app, port: 0 });
    cleanups.push(() => server.close());
    expect(server.url).toMatch(/\/admin$/);
    expect((await fetch(`${server.url}/pools`, { headers: auth() })).status).toBe(200);
    await expect(serveManagement({ app, port: 70_000 })).rejects.toThrow(/port = 70000/);
    await expect(serveManagement({ app, port: -1 })).rejects.toThrow(InvalidConfigError);
  });
});

describe('mounting into an existing server', () => {
  it('node:http: the handler serves its basePath next to the application routes', async () => {
    const management = createManagementApp({
      pools: [await pool()],
      auth: { readToken: READ_TOKEN, adminToken: ADMIN_TOKEN },
      basePath: '/admin',
    });
    cleanups.push(() => management.close());
    const server = createServer((req, res) => {
      if (req.url?.startsWith('/admin')) return management.handler(req, res);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('application');
    });
    const url = await listen(server);
    expect(await (await fetch(`${url}/orders`)).text()).toBe('application');
    expect(await (await fetch(`${url}/admin/pools/main/size`, { headers: auth() })).json()).toMatchObject({ total: 1 });
    const resize = await fetch(`${url}/admin/pools/main/resize`, {
      method: 'POST',
      headers: { ...auth(ADMIN_TOKEN), 'content-type': 'application/json' },
      body: JSON.stringify({ maxSize: 7 }),
    });
    expect(await resize.json()).toMatchObject({ maxSize: 7 });
    const tooBig = await fetch(`${url}/admin/pools/main/resize`, {
      method: 'POST',
      headers: { ...auth(ADMIN_TOKEN), 'content-type': 'application/json' },
      body: JSON.stringify({ maxSize: 7, pad: 'x'.repeat(20_000) }),
    });
    expect(tooBig.status).toBe(413);
    expect((await fetch(`${url}/admin/dashboard`)).status).toBe(200);
  });

  it('Express: as middleware, with and without a mount path', async () => {
    const management = createManagementApp({
      pools: [await pool()],
      auth: { readToken: READ_TOKEN, adminToken: ADMIN_TOKEN },
      basePath: '/admin',
    });
    const mounted = createManagementApp({ pools: [await pool()], auth: { readToken: READ_TOKEN } });
    cleanups.push(
      () => management.close(),
      () => mounted.close(),
    );
    const app = express();
    app.use(management.handler);
    app.use('/ops', mounted.handler);
    app.use(express.json());
    app.post('/orders', (req, res) => {
      res.json({ received: req.body });
    });
    const url = await listen(createServer(app));
    const order = await fetch(`${url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"id":1}' });
    expect(await order.json()).toEqual({ received: { id: 1 } });
    expect((await fetch(`${url}/admin/pools/main/size`, { headers: auth() })).status).toBe(200);
    const suspend = await fetch(`${url}/admin/pools/main/suspend`, {
      method: 'POST',
      headers: { ...auth(ADMIN_TOKEN), 'content-type': 'application/json' },
    });
    expect(await suspend.json()).toMatchObject({ suspended: true });
    expect((await fetch(`${url}/ops/pools/main/size`, { headers: auth() })).status).toBe(200);
    expect((await fetch(`${url}/ops/dashboard`)).status).toBe(200);
  });

  it('Fastify: a catch-all route under the prefix hands the raw request over', async () => {
    const management = createManagementApp({
      pools: [await pool()],
      auth: { readToken: READ_TOKEN, adminToken: ADMIN_TOKEN },
      basePath: '/admin',
    });
    cleanups.push(() => management.close());
    const fastify = Fastify();
    cleanups.push(() => fastify.close());
    await fastify.register(async (instance) => {
      instance.removeAllContentTypeParsers();
      instance.addContentTypeParser('*', (_request, _payload, done) => done(null));
      instance.all('/admin', (request, reply) => {
        reply.hijack();
        management.handler(request.raw, reply.raw);
      });
      instance.all('/admin/*', (request, reply) => {
        reply.hijack();
        management.handler(request.raw, reply.raw);
      });
    });
    fastify.get('/health', async () => ({ ok: true }));
    const url = await fastify.listen({ port: 0, host: '127.0.0.1' });
    expect(await (await fetch(`${url}/health`)).json()).toEqual({ ok: true });
    expect(await (await fetch(`${url}/admin/pools/main/size`, { headers: auth() })).json()).toMatchObject({ total: 1 });
    const resize = await fetch(`${url}/admin/pools/main/resize`, {
      method: 'POST',
      headers: { ...auth(ADMIN_TOKEN), 'content-type': 'application/json' },
      body: JSON.stringify({ minSize: 0, maxSize: 3 }),
    });
    expect(await resize.json()).toMatchObject({ minSize: 0, maxSize: 3 });
    const bad = await fetch(`${url}/admin/pools/main/resize`, {
      method: 'POST',
      headers: { ...auth(ADMIN_TOKEN), 'content-type': 'application/json' },
      body: '{"maxSize": "big"}',
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { field: 'body.maxSize' } });
  });
});
