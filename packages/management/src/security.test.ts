// Every attack of issue 17 and the OWASP API checks that apply (broken authentication, mass assignment,
// excessive data exposure, lack of resource limits), against serveManagement (a real Node socket) and
// against app.fetch (no socket), with tokens and with authentication off: each gets its 4xx, and the
// pool is never touched.
import { request as httpRequest } from 'node:http';
import { ConnectionPool, InvalidConfigError } from '@pool/core';
import { type SimulatedConnection, SimulatedFactory } from '@pool/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManagementApp, type ManagementApp, type ManagementServer, serveManagement } from './index.js';
import { ADMIN_TOKEN, READ_TOKEN } from './test-support/fixtures.js';

interface Sent {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}
// biome-ignore lint/suspicious/noExplicitAny: responses are read field by field
type Answer = { status: number; headers: Record<string, string | string[] | undefined>; json: any; text: string };
type Transport = { name: string; send(s: Sent): Promise<Answer>; tokens: boolean };

let pool: ConnectionPool<SimulatedConnection>;
const closers: (() => unknown)[] = [];

beforeAll(async () => {
  pool = await ConnectionPool.create({ minSize: 1, maxSize: 4, initialSize: 1, closeTimeoutMs: 200 }, new SimulatedFactory(), {
    name: 'main',
  });
});
afterAll(async () => {
  for (const c of closers.reverse()) await c();
  await pool.close();
});

function parse(status: number, headers: Answer['headers'], text: string): Answer {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status, headers, json, text };
}

/** A raw HTTP/1.1 request to a real server: every header (Host included) exactly as given. */
function overSocket(server: ManagementServer, s: Sent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: server.port,
        method: s.method ?? 'GET',
        path: s.path,
        headers: { host: `127.0.0.1:${server.port}`, ...s.headers },
        // A connection per request: a kept-alive socket the server closes while idle would reset the next one.
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => resolve(parse(res.statusCode ?? 0, res.headers, text)));
      },
    );
    req.on('error', reject);
    req.end(s.body);
  });
}

/** `app.fetch` as a server that calls it itself would (no socket; the client address only when given). */
async function overFetch(app: ManagementApp, s: Sent, remoteAddress?: string): Promise<Answer> {
  const headers = new Headers(s.headers);
  const host = headers.get('host') ?? 'localhost';
  headers.delete('host');
  const response = await app.fetch(
    new Request(`http://${host}${s.path}`, { method: s.method ?? 'GET', headers, ...(s.body === undefined ? {} : { body: s.body }) }),
    remoteAddress === undefined ? {} : { remoteAddress },
  );
  const text = await response.text();
  return parse(response.status, Object.fromEntries(response.headers), text);
}

const auth = (token: string) => ({ authorization: `Bearer ${token}` });
const json = { 'content-type': 'application/json' };

async function transports(): Promise<Transport[]> {
  const tokens = { readToken: READ_TOKEN, adminToken: ADMIN_TOKEN };
  const served = await serveManagement({ pools: [pool], auth: tokens, port: 0, monitor: false });
  const servedOpen = await serveManagement({ pools: [pool], auth: false, port: 0, monitor: false });
  const app = createManagementApp({ pools: [pool], auth: tokens, monitor: false });
  const open = createManagementApp({ pools: [pool], auth: false, monitor: false });
  closers.push(
    () => served.close(),
    () => servedOpen.close(),
    () => app.close(),
    () => open.close(),
  );
  return [
    { name: 'serveManagement, tokens', tokens: true, send: (s) => overSocket(served, s) },
    { name: 'serveManagement, auth off', tokens: false, send: (s) => overSocket(servedOpen, s) },
    { name: 'app.fetch, tokens', tokens: true, send: (s) => overFetch(app, s) },
    { name: 'app.fetch, auth off, local client', tokens: false, send: (s) => overFetch(open, s, '127.0.0.1') },
  ];
}

let all: Transport[];
beforeAll(async () => {
  all = await transports();
});

/** The admin's headers in this mode (none needed with authentication off). */
const admin = (t: Transport) => (t.tokens ? auth(ADMIN_TOKEN) : {});
const reader = (t: Transport) => (t.tokens ? auth(READ_TOKEN) : {});

function untouched(): void {
  expect(pool.suspended).toBe(false);
  expect(pool.config.maxSize).toBe(4);
  expect(pool.config.minSize).toBe(1);
}

const MODES = ['serveManagement, tokens', 'serveManagement, auth off', 'app.fetch, tokens', 'app.fetch, auth off, local client'];

describe.each(MODES.map((name, index) => ({ name, index })))('$name', ({ index }) => {
  const t = () => all[index] as Transport;

  it('refuses cross-site actions (CSRF), also empty ones and also with a token', async () => {
    for (const action of ['suspend', 'resume', 'evict']) {
      const path = `/pools/main/${action}`;
      const crossSite = await t().send({
        method: 'POST',
        path,
        headers: { ...admin(t()), origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      });
      expect(crossSite.status, `${t().name} ${path}`).toBe(403);
      const foreignOrigin = await t().send({ method: 'POST', path, headers: { ...admin(t()), ...json, origin: 'https://evil.example' } });
      expect(foreignOrigin.status).toBe(403);
      expect(foreignOrigin.json.error.field).toBe('header.origin');
      const sameSite = await t().send({ method: 'POST', path, headers: { ...admin(t()), ...json, 'sec-fetch-site': 'same-site' } });
      expect(sameSite.status).toBe(403);
      // What a form or a no-cors fetch can send: no JSON content type, so 415 even with an empty body.
      const empty = await t().send({ method: 'POST', path, headers: admin(t()) });
      expect(empty.status).toBe(415);
      expect(empty.json.error.field).toBe('header.content-type');
      const form = await t().send({ method: 'POST', path, headers: { ...admin(t()), 'content-type': 'text/plain' }, body: '{}' });
      expect(form.status).toBe(415);
    }
    untouched();
  });

  it('refuses requests addressed to a host outside the allow-list (DNS rebinding)', async () => {
    const config = await t().send({ path: '/pools/main/config', headers: { ...reader(t()), host: 'rebind.evil.example' } });
    expect(config.status, t().name).toBe(403);
    expect(config.json.error.field).toBe('header.host');
    const resize = await t().send({
      method: 'POST',
      path: '/pools/main/resize',
      headers: { ...admin(t()), ...json, host: 'rebind.evil.example:9470' },
      body: '{"maxSize":1}',
    });
    expect(resize.status).toBe(403);
    expect((await t().send({ path: '/dashboard', headers: { host: 'rebind.evil.example' } })).status).toBe(403);
    untouched();
  });

  it('refuses unknown body fields named like Object.prototype members, and mass assignment', async () => {
    const bodies: [string, string][] = [
      ['resize', '{"__proto__":{"maxSize":1}}'],
      ['resize', '{"maxSize":5,"__proto__":{"minSize":3}}'],
      ['resize', '{"constructor":{"prototype":{"maxSize":1}},"maxSize":5}'],
      ['resize', '{"toString":1,"maxSize":5}'],
      ['resize', '{"maxSize":5,"acquireTimeoutMs":1}'],
      ['resize', '{"maxSize":5,"name":"other"}'],
      ['evict', '{"__proto__":1}'],
      ['suspend', '{"hasOwnProperty":true}'],
    ];
    for (const [action, body] of bodies) {
      const res = await t().send({ method: 'POST', path: `/pools/main/${action}`, headers: { ...admin(t()), ...json }, body });
      expect(res.status, `${t().name} ${body}`).toBe(400);
      expect(res.json.error.message).toMatch(/is not a known field/);
    }
    expect(({} as Record<string, unknown>).maxSize).toBeUndefined();
    untouched();
  });

  it('answers a deeply nested body with 400, not 500', async () => {
    const deep = `{"maxSize":${'['.repeat(8000)}${']'.repeat(8000)}}`;
    expect(deep.length).toBeLessThan(16_384);
    const res = await t().send({ method: 'POST', path: '/pools/main/resize', headers: { ...admin(t()), ...json }, body: deep });
    expect(res.status, t().name).toBe(400);
    expect(res.json.error.message).toContain('nested more than');
    const deepObject = `${'{"a":'.repeat(2500)}1${'}'.repeat(2500)}`;
    expect(
      (await t().send({ method: 'POST', path: '/pools/main/evict', headers: { ...admin(t()), ...json }, body: deepObject })).status,
    ).toBe(400);
    untouched();
  });

  it('bounds what a request may carry (lack of resource limits)', async () => {
    const big = await t().send({
      method: 'POST',
      path: '/pools/main/resize',
      headers: { ...admin(t()), ...json },
      body: `{"maxSize":5,"x":"${'a'.repeat(20_000)}"}`,
    });
    expect(big.status).toBe(413);
    expect((await t().send({ path: `/pools/${'p'.repeat(300)}/size`, headers: reader(t()) })).status).toBe(400);
    expect((await t().send({ path: '/pools/main/size?a=1', headers: reader(t()) })).status).toBe(400);
    untouched();
  });

  it('exposes no secrets, owners, stacks or internals (excessive data exposure)', async () => {
    const conn = await pool.acquire({ context: { password: 'hunter2' } });
    const connections = await t().send({ path: '/pools/main/connections', headers: reader(t()) });
    expect(connections.status).toBe(200);
    for (const c of connections.json.connections) {
      expect(c).not.toHaveProperty('owner');
      expect(c).not.toHaveProperty('stack');
    }
    expect(connections.text).not.toContain('hunter2');
    conn.release();
    const error = await t().send({ method: 'POST', path: '/pools/main/resize', headers: { ...admin(t()), ...json }, body: '{"maxSize":' });
    expect(error.status).toBe(400);
    expect(error.text).not.toMatch(/\bat .*\.(ts|js):\d+/);
    expect(error.text).not.toContain(ADMIN_TOKEN);
  });
});

describe('authentication (tokens)', () => {
  it('refuses missing, malformed and wrong tokens, and actions with the read token (broken authentication)', async () => {
    for (const t of all.filter((x) => x.tokens)) {
      expect((await t.send({ path: '/pools/main/config' })).status).toBe(401);
      expect((await t.send({ path: '/pools/main/config', headers: { authorization: `Basic ${READ_TOKEN}` } })).status).toBe(401);
      expect((await t.send({ path: '/pools/main/config', headers: auth('not-the-token-at-all-000') })).status).toBe(401);
      expect((await t.send({ method: 'POST', path: '/pools/main/suspend', headers: { ...auth(READ_TOKEN), ...json } })).status).toBe(403);
    }
    untouched();
  });

  it('limits failed authentications per client: 429 with Retry-After, even for the right token, other clients unaffected', async () => {
    const app = createManagementApp({
      pools: [pool],
      auth: { readToken: READ_TOKEN },
      monitor: false,
      authFailureLimit: { maxFailures: 3 },
    });
    closers.push(() => app.close());
    const wrong = { path: '/pools/main/size', headers: auth('wrong-token-00000000000') };
    for (let i = 0; i < 3; i++) expect((await overFetch(app, wrong, '203.0.113.7')).status).toBe(401);
    const limited = await overFetch(app, wrong, '203.0.113.7');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.json.error.code).toBe('ERR_POOL_MANAGEMENT_TOO_MANY_FAILED_AUTHENTICATIONS');
    expect((await overFetch(app, { path: '/pools/main/size', headers: auth(READ_TOKEN) }, '203.0.113.7')).status).toBe(429);
    expect((await overFetch(app, { path: '/pools/main/size', headers: auth(READ_TOKEN) }, '203.0.113.8')).status).toBe(200);
    // An IPv6 client is one /64: rotating addresses within it does not reset the count.
    for (let i = 0; i < 3; i++) await overFetch(app, wrong, `2001:db8:1:2::${i + 1}`);
    expect((await overFetch(app, wrong, '2001:db8:1:2::99')).status).toBe(429);
  });

  it('limits failed authentications over a real socket too', async () => {
    const server = await serveManagement({
      pools: [pool],
      auth: { readToken: READ_TOKEN },
      port: 0,
      monitor: false,
      authFailureLimit: { maxFailures: 2 },
    });
    closers.push(() => server.close());
    const wrong = { path: '/pools/main/size', headers: auth('wrong-token-00000000000') };
    expect((await overSocket(server, wrong)).status).toBe(401);
    expect((await overSocket(server, wrong)).status).toBe(401);
    expect((await overSocket(server, wrong)).status).toBe(429);
  });
});

describe('authentication off', () => {
  it('fails closed under app.fetch when the client address is unknown, and refuses non-loopback clients', async () => {
    const app = createManagementApp({ pools: [pool], auth: false, monitor: false });
    closers.push(() => app.close());
    const unknown = await overFetch(app, { path: '/pools/main/config' });
    expect(unknown.status).toBe(403);
    expect(unknown.json.error.message).toContain('remoteAddress');
    const emptyPost = await overFetch(app, { method: 'POST', path: '/pools/main/suspend' });
    expect(emptyPost.status).toBe(403);
    expect((await overFetch(app, { path: '/pools/main/config' }, '10.1.2.3')).status).toBe(403);
    expect((await overFetch(app, { path: '/pools/main/config' }, '::1')).status).toBe(200);
    untouched();
  });

  it('cannot switch the Host check off', () => {
    expect(() => createManagementApp({ pools: [pool], auth: false, allowedHosts: 'any' })).toThrow(/needs authentication/);
  });
});

describe('pool names', () => {
  it('refuses names with control, bidirectional or zero-width characters, and . or .., with a clear error', () => {
    const cases: [string, RegExp][] = [
      ['ma\u0000in', /U\+0000 at index 2/],
      ['admin\u202Egnp.exe', /U\+202E at index 5/],
      ['ma\u200Bin', /U\+200B at index 2/],
      ['\uFEFFmain', /U\+FEFF at index 0/],
      ['.', /must not be '\.' or '\.\.'/],
      ['..', /must not be '\.' or '\.\.'/],
    ];
    for (const [name, message] of cases) {
      let error: unknown;
      try {
        createManagementApp({ pools: { [name]: pool }, auth: { readToken: READ_TOKEN } });
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(name)).toBeInstanceOf(InvalidConfigError);
      expect(String((error as Error).message)).toMatch(message);
    }
  });
});
