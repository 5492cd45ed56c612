import { createServer, type Server, Socket } from 'node:net';
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FaultProxy } from './fault-proxy.js';

const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const pgTarget = new URL(PG_URL);
const realSetTimeout = globalThis.setTimeout;

/** Polls with real timers (also under fake timers) until `fn` stops throwing. */
async function until(fn: () => void, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      fn();
      return;
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await new Promise((r) => realSetTimeout(r, 5));
    }
  }
}

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function echoServer(): Promise<Server> {
  const server = createServer((s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return server;
}

async function startProxy(server: Server): Promise<FaultProxy> {
  const address = server.address() as { port: number };
  const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: address.port } });
  cleanups.push(() => proxy.close());
  return proxy;
}

/** A client socket that records what it receives and how it ended. */
function connect(proxy: FaultProxy): { socket: Socket; received: () => string; ended: () => string | null } {
  const socket = new Socket();
  let data = '';
  let end: string | null = null;
  socket.on('data', (d) => {
    data += d.toString();
  });
  socket.on('error', (e: NodeJS.ErrnoException) => {
    end = e.code ?? e.message;
  });
  socket.on('close', () => {
    end ??= 'close';
  });
  socket.connect(proxy.port, proxy.host);
  cleanups.push(() => socket.destroy());
  return { socket, received: () => data, ended: () => end };
}

describe('FaultProxy over a TCP echo server', () => {
  it('forwards bytes both ways and counts them', async () => {
    const proxy = await startProxy(await echoServer());
    const c = connect(proxy);
    c.socket.write('hello');
    await until(() => expect(c.received()).toBe('hello'));
    expect(proxy.statistics()).toMatchObject({ accepted: 1, active: 1, bytesToServer: 5, bytesToClient: 5, bytesHeld: 0 });
    expect(proxy.connections).toBe(1);
    expect(String(proxy)).toMatch(/FaultProxy\(127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+, forward, 1 open\)/);
  });

  it('adds latency each way, in order', async () => {
    const proxy = await startProxy(await echoServer());
    const c = connect(proxy);
    await until(() => expect(proxy.connections).toBe(1));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    proxy.latencyMs = 1_000;
    c.socket.write('ab');
    c.socket.write('cd');
    await until(() => expect(proxy.statistics().bytesHeld).toBe(4));
    await vi.advanceTimersByTimeAsync(999);
    expect(proxy.statistics().bytesToServer).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    await until(() => expect(proxy.statistics().bytesToServer).toBe(4));
    await until(() => expect(proxy.statistics().bytesHeld).toBe(4)); // the echo, held on its way back
    expect(c.received()).toBe('');
    await vi.advanceTimersByTimeAsync(1_000);
    await until(() => expect(c.received()).toBe('abcd'));
  });

  it('stall holds traffic and new connections; forward delivers everything in order', async () => {
    const proxy = await startProxy(await echoServer());
    const a = connect(proxy);
    a.socket.write('1');
    await until(() => expect(a.received()).toBe('1'));
    proxy.stall();
    a.socket.write('2');
    a.socket.write('3');
    const b = connect(proxy);
    b.socket.write('x');
    await until(() => expect(proxy.statistics()).toMatchObject({ accepted: 2, bytesHeld: 3 }));
    expect(a.received()).toBe('1');
    expect(b.received()).toBe('');
    proxy.forward();
    await until(() => expect(a.received()).toBe('123'));
    await until(() => expect(b.received()).toBe('x'));
  });

  it('refuse resets new connections and leaves open ones alone', async () => {
    const proxy = await startProxy(await echoServer());
    const open = connect(proxy);
    await until(() => expect(proxy.connections).toBe(1));
    proxy.refuse();
    const refused = connect(proxy);
    await until(() => expect(refused.ended()).not.toBeNull());
    expect(proxy.statistics().refused).toBe(1);
    open.socket.write('still here');
    await until(() => expect(open.received()).toBe('still here'));
  });

  it('killAll cuts every open connection with a reset', async () => {
    const proxy = await startProxy(await echoServer());
    const a = connect(proxy);
    const b = connect(proxy);
    await until(() => expect(proxy.connections).toBe(2));
    expect(proxy.killAll()).toBe(2);
    await until(() => expect([a.ended(), b.ended()]).toEqual(['ECONNRESET', 'ECONNRESET']));
    expect(proxy.statistics()).toMatchObject({ killed: 2, active: 0 });
    const c = connect(proxy);
    c.socket.write('new');
    await until(() => expect(c.received()).toBe('new'));
  });

  it('close stops listening and cuts open connections; it is idempotent', async () => {
    const proxy = await startProxy(await echoServer());
    const a = connect(proxy);
    await until(() => expect(proxy.connections).toBe(1));
    const closing = proxy.close();
    expect(proxy.close()).toBe(closing);
    await closing;
    await until(() => expect(a.ended()).not.toBeNull());
    const late = new Socket();
    const error = await new Promise<NodeJS.ErrnoException>((resolve) => {
      late.on('error', resolve);
      late.connect(proxy.port === 0 ? 1 : proxy.port, '127.0.0.1');
    });
    expect(error.code).toBe('ECONNREFUSED');
  });

  it('passes a clean end of the server on to the client', async () => {
    const server = createServer((s) => s.end('bye'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const proxy = await startProxy(server);
    const c = connect(proxy);
    await until(() => expect(c.ended()).toBe('close'));
    expect(c.received()).toBe('bye');
    await until(() => expect(proxy.connections).toBe(0));
  });

  it('rejects bad options, naming the field', async () => {
    await expect(FaultProxy.start({ target: 'nowhere' })).rejects.toThrow(/target = "nowhere": must be 'host:port'/);
    await expect(FaultProxy.start({ target: { host: '127.0.0.1', port: 70_000 } })).rejects.toThrow(/target.port = 70000/);
    await expect(FaultProxy.start({ target: '127.0.0.1:5432', latency: 5 } as never)).rejects.toThrow(/options.latency/);
    await expect(FaultProxy.start({ target: '127.0.0.1:5432', listen: { port: -1 } })).rejects.toThrow(/listen.port = -1/);
    const proxy = await FaultProxy.start({ target: '[::1]:5432' });
    cleanups.push(() => proxy.close());
    expect(proxy.target).toEqual({ host: '::1', port: 5432 });
    expect(() => {
      proxy.latencyMs = -5;
    }).toThrow(/latencyMs = -5/);
  });
});

describe('FaultProxy in front of the real PostgreSQL', () => {
  async function pgProxy(): Promise<FaultProxy> {
    const proxy = await FaultProxy.start({ target: { host: pgTarget.hostname, port: Number(pgTarget.port || 5432) } });
    cleanups.push(() => proxy.close());
    return proxy;
  }

  function client(proxy: FaultProxy, errors: unknown[] = []): pg.Client {
    const url = new URL(PG_URL);
    url.hostname = proxy.host;
    url.port = String(proxy.port);
    const c = new pg.Client({ connectionString: url.toString() });
    c.on('error', (e) => errors.push(e));
    cleanups.push(() => c.end().catch(() => {}));
    return c;
  }

  it('carries the PostgreSQL protocol unchanged', async () => {
    const proxy = await pgProxy();
    const c = client(proxy);
    await c.connect();
    const { rows } = await c.query('SELECT $1::int + 1 AS n', [41]);
    expect(rows).toEqual([{ n: 42 }]);
  });

  it('killAll looks like a server crash to node-postgres, and refuse like a server that is down', async () => {
    const proxy = await pgProxy();
    const errors: unknown[] = [];
    const c = client(proxy, errors);
    await c.connect();
    proxy.refuse();
    proxy.killAll();
    await until(() => expect(errors.length).toBeGreaterThan(0));
    await expect(c.query('SELECT 1')).rejects.toThrow();
    await expect(client(proxy).connect()).rejects.toThrow();
    proxy.forward();
    const fresh = client(proxy);
    await fresh.connect();
    expect((await fresh.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('a stalled network holds a query until traffic flows again', async () => {
    const proxy = await pgProxy();
    const c = client(proxy);
    await c.connect();
    proxy.stall();
    let done = false;
    const query = c.query('SELECT 7 AS seven').then((r) => {
      done = true;
      return r.rows;
    });
    await until(() => expect(proxy.statistics().bytesHeld).toBeGreaterThan(0));
    expect(done).toBe(false);
    proxy.forward();
    expect(await query).toEqual([{ seven: 7 }]);
  });

  it('a stalled network makes a connect hang until the client gives up', async () => {
    const proxy = await pgProxy();
    proxy.stall();
    const url = new URL(PG_URL);
    url.hostname = proxy.host;
    url.port = String(proxy.port);
    const c = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 200 });
    cleanups.push(() => c.end().catch(() => {}));
    await expect(c.connect()).rejects.toThrow(/timeout/i);
    await until(() => expect(proxy.connections).toBe(0));
  });
});
