import { createServer, type Server, Socket } from 'node:net';
import { InvalidArgumentError, InvalidConfigError } from '@pool/core';
import { checkKeys } from './latency.js';

/** Where a {@link FaultProxy} forwards to, or listens on. */
export interface FaultProxyAddress {
  host: string;
  port: number;
}

/** Options of {@link FaultProxy.start}. */
export interface FaultProxyOptions {
  /** The real server, as `{ host, port }` or `'host:port'`. */
  target: FaultProxyAddress | string;
  /** Where the proxy listens. Default `{ host: '127.0.0.1', port: 0 }` (a free port; read `proxy.port`). */
  listen?: Partial<FaultProxyAddress>;
  /** Delay added to every chunk, each way. Default `0`. */
  latencyMs?: number;
}

/**
 * What the proxy does with traffic:
 * - `'forward'`: pass it on (after `latencyMs`).
 * - `'stall'`: hold it. Bytes of open connections are buffered, not delivered; new connections are
 *   accepted but not connected to the server; a client sees a network that stopped answering (its
 *   connect or query hangs until its own timeout). `forward()` delivers everything held, in order.
 * - `'refuse'`: new connections are accepted and reset at once (the client sees `ECONNRESET`), as by a
 *   server that is restarting. Open connections are left alone (combine with `killAll()`).
 */
export type FaultProxyMode = 'forward' | 'stall' | 'refuse';

/** Counters of a {@link FaultProxy}. */
export interface FaultProxyStatistics {
  /** Connections accepted and forwarded (or held). */
  accepted: number;
  /** Connections reset at once in `'refuse'` mode. */
  refused: number;
  /** Connections cut by `killAll()` (or `close()`). */
  killed: number;
  /** Connections open right now. */
  active: number;
  /** Bytes delivered client → server, and server → client. */
  bytesToServer: number;
  bytesToClient: number;
  /** Bytes held right now (by latency or a stall), both ways. */
  bytesHeld: number;
}

const HIGH_WATER = 1 << 20;

/** One direction of one proxied connection: ordered, delayed, stallable delivery. */
class Pipe {
  readonly #queue: { due: number; chunk: Buffer | null }[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #lastDue = 0;
  held = 0;
  #ended = false;

  constructor(
    readonly from: Socket,
    public to: Socket | null,
    readonly proxy: FaultProxy,
    readonly count: (bytes: number) => void,
  ) {
    from.on('data', (chunk: Buffer) => this.push(chunk));
    from.on('end', () => this.push(null));
    from.on('close', () => this.push(null));
  }

  #endQueued = false;

  push(chunk: Buffer | null): void {
    if (this.#endQueued) return;
    if (chunk === null) this.#endQueued = true;
    const due = Math.max(Date.now() + this.proxy.latencyMs, this.#lastDue);
    this.#lastDue = due;
    this.#queue.push({ due, chunk });
    if (chunk !== null) {
      this.held += chunk.length;
      if (this.held > HIGH_WATER) this.from.pause();
    }
    this.pump();
  }

  /** Delivers what is due; schedules a timer for the rest. */
  pump(): void {
    const to = this.to;
    if (to === null || this.proxy.mode === 'stall' || to.destroyed) return;
    const t = Date.now();
    while (this.#queue.length > 0) {
      const head = this.#queue[0] as { due: number; chunk: Buffer | null };
      if (head.due > t) {
        this.#schedule(head.due);
        return;
      }
      this.#queue.shift();
      if (head.chunk === null) {
        if (!this.#ended) {
          this.#ended = true;
          to.end();
        }
        continue;
      }
      this.held -= head.chunk.length;
      this.count(head.chunk.length);
      to.write(head.chunk);
    }
    if (this.held <= HIGH_WATER && this.from.isPaused()) this.from.resume();
  }

  #schedule(at: number): void {
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = Number.POSITIVE_INFINITY;
        this.pump();
      },
      Math.max(0, at - Date.now()),
    );
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.length = 0;
    this.held = 0;
  }
}

/** One proxied connection. */
class Link {
  readonly upstream: Socket;
  readonly up: Pipe;
  readonly down: Pipe;
  #connected = false;
  #closed = false;

  constructor(
    readonly client: Socket,
    readonly proxy: FaultProxy,
    readonly onClose: (link: Link) => void,
    counters: { toServer: (n: number) => void; toClient: (n: number) => void },
  ) {
    this.upstream = new Socket();
    this.up = new Pipe(client, null, proxy, counters.toServer);
    this.down = new Pipe(this.upstream, client, proxy, counters.toClient);
    let open = 2;
    for (const s of [client, this.upstream]) {
      // An error is abrupt: cut the other side too. A clean end is passed on in order (see Pipe).
      s.on('error', () => this.destroy(false));
      s.on('close', () => {
        if (--open === 0) this.destroy(false);
      });
    }
    client.on('close', () => {
      if (!this.#connected) this.destroy(false); // held by a stall and abandoned by its client
    });
    client.setNoDelay(true);
  }

  /** Opens the server side (deferred while the proxy is stalled). */
  connect(): void {
    if (this.#connected || this.#closed) return;
    this.#connected = true;
    const { host, port } = this.proxy.target;
    this.upstream.setNoDelay(true);
    this.upstream.connect(port, host, () => {
      this.up.to = this.upstream;
      this.up.pump();
    });
  }

  get connected(): boolean {
    return this.#connected;
  }

  pump(): void {
    this.up.pump();
    this.down.pump();
  }

  /** Ends both sides; with `reset`, abruptly (TCP RST), as a crashed server or a cut network does. */
  destroy(reset: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    this.up.dispose();
    this.down.dispose();
    for (const s of [this.client, this.upstream]) {
      if (s.destroyed) continue;
      if (reset && typeof s.resetAndDestroy === 'function' && s.readyState !== 'opening' && !s.connecting) s.resetAndDestroy();
      else s.destroy();
    }
    this.onClose(this);
  }
}

function parseAddress(field: string, value: unknown): FaultProxyAddress {
  if (typeof value === 'string') {
    const i = value.lastIndexOf(':');
    const host = value.slice(0, i).replace(/^\[(.*)\]$/, '$1');
    const port = Number(value.slice(i + 1));
    if (i > 0 && host !== '' && Number.isInteger(port) && port > 0 && port < 65_536) return { host, port };
    throw new InvalidConfigError(field, value, "must be 'host:port' with a port between 1 and 65535");
  }
  const v = checkKeys(field, value, ['host', 'port']) as Partial<FaultProxyAddress>;
  if (typeof v.host !== 'string' || v.host === '') throw new InvalidConfigError(`${field}.host`, v.host, 'must be a non-empty string');
  if (typeof v.port !== 'number' || !Number.isInteger(v.port) || v.port < 1 || v.port > 65_535) {
    throw new InvalidConfigError(`${field}.port`, v.port, 'must be an integer between 1 and 65535');
  }
  return { host: v.host, port: v.port };
}

function checkLatencyMs(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 2_147_483_647) return value;
  throw new InvalidArgumentError('latencyMs', value, 'must be a number of milliseconds between 0 and 2147483647');
}

/**
 * A small fault-injecting TCP proxy (`node:net`) to put between a pool and a real server: added
 * latency, stalled connections, refused connections, and "kill every open connection". Point the
 * driver at `proxy.host:proxy.port` instead of the server, then break the network on demand.
 *
 * It works for any TCP protocol (PostgreSQL, MySQL, Redis...) and only ever connects to its `target`.
 *
 * @example
 * ```ts
 * const proxy = await FaultProxy.start({ target: '127.0.0.1:5432' });
 * const pool = createPgPool({ host: proxy.host, port: proxy.port, user: 'postgres', database: 'test' });
 * proxy.killAll();   // every open connection is reset, as by a server restart
 * proxy.refuse();    // ...and the "server" is down for a while
 * proxy.forward();   // back up: the pool heals
 * proxy.latencyMs = 50;
 * proxy.stall();     // the network stops answering; queries and connects hang until their timeouts
 * await proxy.close();
 * ```
 */
export class FaultProxy {
  /** The server traffic is forwarded to. */
  readonly target: FaultProxyAddress;
  readonly #server: Server;
  readonly #links = new Set<Link>();
  #mode: FaultProxyMode = 'forward';
  #latencyMs = 0;
  #closed: Promise<void> | undefined;
  readonly #stats = { accepted: 0, refused: 0, killed: 0, bytesToServer: 0, bytesToClient: 0 };

  private constructor(target: FaultProxyAddress, latencyMs: number) {
    this.target = target;
    this.#latencyMs = latencyMs;
    this.#server = createServer({ pauseOnConnect: false }, (socket) => this.#accept(socket));
  }

  /** Starts a proxy and resolves once it listens. Rejects (e.g. `EADDRINUSE`) when it cannot listen. */
  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const o = checkKeys('options', options, ['target', 'listen', 'latencyMs']) as unknown as FaultProxyOptions;
    const target = parseAddress('target', o.target);
    const listen = checkKeys('listen', o.listen ?? {}, ['host', 'port']) as Partial<FaultProxyAddress>;
    const host = listen.host ?? '127.0.0.1';
    const port = listen.port ?? 0;
    if (typeof host !== 'string' || host === '') throw new InvalidConfigError('listen.host', host, 'must be a non-empty string');
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65_535) {
      throw new InvalidConfigError('listen.port', port, 'must be an integer between 0 and 65535 (0: any free port)');
    }
    const proxy = new FaultProxy(target, o.latencyMs === undefined ? 0 : checkLatencyMs(o.latencyMs));
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(port, host, () => {
        proxy.#server.off('error', reject);
        resolve();
      });
    });
    return proxy;
  }

  /** The address the proxy listens on. */
  get host(): string {
    const a = this.#server.address();
    return typeof a === 'object' && a !== null ? a.address : '127.0.0.1';
  }

  /** The port the proxy listens on. */
  get port(): number {
    const a = this.#server.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  /** The current mode (see {@link FaultProxyMode}). */
  get mode(): FaultProxyMode {
    return this.#mode;
  }

  /** Delay added to every chunk, each way, from now on (chunks already held keep their delivery time). */
  get latencyMs(): number {
    return this.#latencyMs;
  }

  set latencyMs(value: number) {
    this.#latencyMs = checkLatencyMs(value);
  }

  /** Connections open right now. */
  get connections(): number {
    return this.#links.size;
  }

  /** Passes traffic on again: delivers what a stall held, in order, and connects held connections. */
  forward(): this {
    this.#mode = 'forward';
    for (const link of this.#links) {
      link.connect();
      link.pump();
    }
    return this;
  }

  /** Holds all traffic, and holds new connections unconnected, until `forward()`. */
  stall(): this {
    this.#mode = 'stall';
    return this;
  }

  /** Resets new connections at once until `forward()`; open connections are left alone. */
  refuse(): this {
    this.#mode = 'refuse';
    return this;
  }

  /**
   * Cuts every open connection, both ways, with a TCP reset (as a server crash or restart does; the
   * client sees `ECONNRESET` or an unexpected end). Returns how many were cut. The mode is unchanged.
   */
  killAll(): number {
    const links = [...this.#links];
    for (const link of links) link.destroy(true);
    this.#stats.killed += links.length;
    return links.length;
  }

  /** Counters and current figures. */
  statistics(): FaultProxyStatistics {
    let held = 0;
    for (const link of this.#links) held += link.up.held + link.down.held;
    return { ...this.#stats, active: this.#links.size, bytesHeld: held };
  }

  /** Stops listening and cuts every open connection. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.killAll();
    });
    return this.#closed;
  }

  /** `await using proxy = await FaultProxy.start(...)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** A short description. */
  toString(): string {
    return `FaultProxy(${this.host}:${this.port} -> ${this.target.host}:${this.target.port}, ${this.#mode}, ${this.#links.size} open)`;
  }

  #accept(socket: Socket): void {
    if (this.#closed !== undefined || this.#mode === 'refuse') {
      this.#stats.refused++;
      socket.on('error', () => {});
      socket.resetAndDestroy();
      return;
    }
    this.#stats.accepted++;
    const link = new Link(socket, this, (l) => this.#links.delete(l), {
      toServer: (n) => {
        this.#stats.bytesToServer += n;
      },
      toClient: (n) => {
        this.#stats.bytesToClient += n;
      },
    });
    this.#links.add(link);
    if (this.#mode === 'forward') link.connect();
  }
}
