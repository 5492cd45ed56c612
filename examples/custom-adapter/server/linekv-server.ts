/**
 * LineKV: the tiny database this example ships, so the adapter has a real server to talk to over
 * TCP. It is not part of the adapter package (only `src/` is published); think of it as the
 * PostgreSQL of this example.
 *
 * Protocol: one request per line, words separated by single spaces (the last word of `SET` is the
 * rest of the line). One reply line per request, in order, so clients may pipeline:
 *
 *   `+<text>`  success, with a payload (`+OK`, `+PONG`, `+value`)
 *   `_`        success, no value (a missing key)
 *   `-<CODE> <message>`  an error (`-ERR`, `-NOAUTH`, `-TXERR`)
 *
 * Commands: `AUTH password`, `PING`, `GET key`, `SET key value`, `DEL key`, `USE namespace` (per
 * session key space; `default` at start), `NAMESPACE`, `BEGIN` / `COMMIT` / `ROLLBACK` (writes are
 * buffered in the session until `COMMIT`), `TXSTATUS` (`idle` or `tx`), `RESET` (rolls back and goes
 * back to the `default` namespace), `ID` (the session's id), `KILL id` (ends another session),
 * `SLEEP ms`, `QUIT`.
 */
import { createServer, type Server, type Socket } from 'node:net';

/** Options of {@link LineKvServer.start}. */
export interface LineKvServerOptions {
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port; `0` (the default) picks a free one. */
  port?: number;
  /** When set, every session must `AUTH` with it before anything else. */
  password?: string;
}

interface Session {
  readonly id: number;
  readonly socket: Socket;
  authenticated: boolean;
  namespace: string;
  /** Writes buffered by an open transaction (`null` value: a delete), or `null` outside one. */
  tx: Map<string, string | null> | null;
}

/** A running LineKV server. */
export class LineKvServer {
  readonly host: string;
  readonly port: number;
  readonly #server: Server;
  readonly #password: string | undefined;
  readonly #data = new Map<string, string>();
  readonly #sessions = new Map<number, Session>();
  #nextId = 1;

  private constructor(server: Server, host: string, port: number, password: string | undefined) {
    this.#server = server;
    this.host = host;
    this.port = port;
    this.#password = password;
    server.on('connection', (socket) => this.#accept(socket));
  }

  /** Starts a server; resolves once it listens. */
  static async start(options: LineKvServerOptions = {}): Promise<LineKvServer> {
    const server = createServer();
    const host = options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('LineKV: the server has no TCP address');
    return new LineKvServer(server, host, address.port, options.password);
  }

  /** `host:port`, for URLs and the testkit's FaultProxy. */
  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** Sessions connected right now. */
  get sessions(): number {
    return this.#sessions.size;
  }

  /** Stops listening and ends every session. */
  async close(): Promise<void> {
    for (const session of this.#sessions.values()) session.socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #accept(socket: Socket): void {
    const session: Session = { id: this.#nextId++, socket, authenticated: this.#password === undefined, namespace: 'default', tx: null };
    this.#sessions.set(session.id, session);
    socket.setNoDelay(true);
    socket.setEncoding('utf8');
    socket.on('error', () => {}); // a client that resets its connection is not the server's problem
    socket.on('close', () => this.#sessions.delete(session.id));
    let buffered = '';
    let queue = Promise.resolve();
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      for (let end = buffered.indexOf('\n'); end !== -1; end = buffered.indexOf('\n')) {
        const line = buffered.slice(0, end).replace(/\r$/, '');
        buffered = buffered.slice(end + 1);
        // Replies keep request order even when a command (SLEEP) takes time.
        queue = queue.then(async () => {
          if (socket.destroyed) return;
          const reply = await this.#execute(session, line);
          if (!socket.destroyed) socket.write(`${reply}\n`);
          if (reply === '+BYE') socket.end();
        });
      }
    });
  }

  async #execute(session: Session, line: string): Promise<string> {
    const [verb = '', ...args] = line.split(' ');
    const command = verb.toUpperCase();
    if (command === 'AUTH') {
      if (this.#password === undefined) return '-ERR no password is set';
      if (args.join(' ') !== this.#password) return '-NOAUTH invalid password';
      session.authenticated = true;
      return '+OK';
    }
    if (!session.authenticated) return '-NOAUTH authentication required';
    const key = (name: string | undefined): string => `${session.namespace}:${name ?? ''}`;
    switch (command) {
      case 'PING':
        return '+PONG';
      case 'GET': {
        if (args.length !== 1) return '-ERR GET takes one key';
        const k = key(args[0]);
        const value = session.tx?.has(k) ? session.tx.get(k) : this.#data.get(k);
        return value === undefined || value === null ? '_' : `+${value}`;
      }
      case 'SET': {
        if (args.length < 2) return '-ERR SET takes a key and a value';
        const k = key(args[0]);
        const value = args.slice(1).join(' ');
        if (session.tx !== null) session.tx.set(k, value);
        else this.#data.set(k, value);
        return '+OK';
      }
      case 'DEL': {
        if (args.length !== 1) return '-ERR DEL takes one key';
        const k = key(args[0]);
        const existed = (session.tx?.has(k) ? session.tx.get(k) : this.#data.get(k)) != null;
        if (session.tx !== null) session.tx.set(k, null);
        else this.#data.delete(k);
        return existed ? '+1' : '+0';
      }
      case 'USE':
        if (args.length !== 1 || args[0] === '') return '-ERR USE takes one namespace';
        session.namespace = args[0] as string;
        return '+OK';
      case 'NAMESPACE':
        return `+${session.namespace}`;
      case 'BEGIN':
        if (session.tx !== null) return '-TXERR a transaction is already open';
        session.tx = new Map();
        return '+OK';
      case 'COMMIT':
        if (session.tx === null) return '-TXERR no transaction is open';
        for (const [k, value] of session.tx) {
          if (value === null) this.#data.delete(k);
          else this.#data.set(k, value);
        }
        session.tx = null;
        return '+OK';
      case 'ROLLBACK':
        if (session.tx === null) return '-TXERR no transaction is open';
        session.tx = null;
        return '+OK';
      case 'TXSTATUS':
        return session.tx === null ? '+idle' : '+tx';
      case 'RESET':
        session.tx = null;
        session.namespace = 'default';
        return '+OK';
      case 'ID':
        return `+${session.id}`;
      case 'KILL': {
        const victim = this.#sessions.get(Number(args[0]));
        if (victim === undefined) return `-ERR no session ${args[0]}`;
        victim.socket.destroy();
        return '+OK';
      }
      case 'SLEEP': {
        const ms = Number(args[0]);
        if (!Number.isInteger(ms) || ms < 0 || ms > 60_000) return '-ERR SLEEP takes 0 to 60000 ms';
        await new Promise((resolve) => setTimeout(resolve, ms));
        return '+OK';
      }
      case 'QUIT':
        return '+BYE';
      default:
        return `-ERR unknown command '${verb}'`;
    }
  }
}
