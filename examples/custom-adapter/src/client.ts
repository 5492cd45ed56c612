import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';

/** An error reply from the server (`-CODE message`), or a failure of the connection itself. */
export class LineKvError extends Error {
  /** The server's error code (`ERR`, `NOAUTH`, `TXERR`), or `ECLOSED` when the connection is gone. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LineKvError';
    this.code = code;
  }
}

/** Where and how {@link LineKvClient.connect} connects. */
export interface LineKvConnectOptions {
  host: string;
  port: number;
  /** Sent with `AUTH` right after connecting, when given. */
  password?: string | undefined;
  /** Aborts the connect (the socket is destroyed and the promise rejects with the signal's reason). */
  signal?: AbortSignal | undefined;
}

interface Pending {
  resolve: (value: string | null) => void;
  reject: (error: Error) => void;
}

/**
 * The LineKV driver: one TCP connection, commands pipelined, replies matched to requests in order.
 * It knows nothing about pools: like `pg.Client` or an ioredis client, it connects, sends commands,
 * and emits `'close'` (with the error, if any) when the connection ends for any reason.
 */
export class LineKvClient extends EventEmitter<{ close: [error: Error | undefined] }> {
  readonly #socket: Socket;
  readonly #pending: Pending[] = [];
  #buffered = '';
  #closed = false;

  private constructor(socket: Socket) {
    super();
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.#onData(chunk));
    let failure: Error | undefined;
    socket.on('error', (error) => {
      failure = error;
    });
    socket.on('close', () => this.#onClose(failure));
  }

  /** Connects (and authenticates when a password is given). */
  static async connect(options: LineKvConnectOptions): Promise<LineKvClient> {
    const { signal } = options;
    signal?.throwIfAborted();
    const socket = connect({ host: options.host, port: options.port, noDelay: true });
    const client = new LineKvClient(socket);
    const onAbort = (): void => {
      socket.destroy();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        client.once('close', (error) => reject(error ?? new LineKvError('ECLOSED', 'LineKV: the connection closed while connecting')));
      });
      if (options.password !== undefined) await client.command('AUTH', options.password);
      return client;
    } catch (error) {
      socket.destroy();
      throw signal?.aborted ? signal.reason : error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Commands sent and not answered yet (including ones whose caller gave up). */
  get inFlight(): number {
    return this.#pending.length;
  }

  /** True once the connection ended (closed, killed, cut). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends one command and resolves with its reply's payload (`null` for "no value"); rejects with a
   * {@link LineKvError} for an error reply or a dead connection. A `signal` makes the promise give up
   * (the reply, when it comes, is then ignored).
   */
  command(verb: string, ...args: string[]): Promise<string | null>;
  command(options: { signal?: AbortSignal | undefined }, verb: string, ...args: string[]): Promise<string | null>;
  command(first: string | { signal?: AbortSignal | undefined }, ...rest: string[]): Promise<string | null> {
    const signal = typeof first === 'string' ? undefined : first.signal;
    const words = typeof first === 'string' ? [first, ...rest] : rest;
    if (this.#closed) return Promise.reject(new LineKvError('ECLOSED', 'LineKV: the connection is closed'));
    if (words.some((w) => w.includes('\n'))) return Promise.reject(new LineKvError('ERR', 'LineKV: a command cannot contain a line break'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    const reply = new Promise<string | null>((resolve, reject) => this.#pending.push({ resolve, reject }));
    this.#socket.write(`${words.join(' ')}\n`);
    if (signal === undefined) return reply;
    return new Promise<string | null>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      reply.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /** Says goodbye and waits for the server to close the connection. */
  async quit(): Promise<void> {
    if (this.#closed) return;
    const closed = new Promise<void>((resolve) => this.once('close', () => resolve()));
    await this.command('QUIT').catch(() => {});
    await closed;
  }

  /** Drops the connection at once. */
  destroy(): void {
    this.#socket.destroy();
  }

  #onData(chunk: string): void {
    this.#buffered += chunk;
    for (let end = this.#buffered.indexOf('\n'); end !== -1; end = this.#buffered.indexOf('\n')) {
      const line = this.#buffered.slice(0, end);
      this.#buffered = this.#buffered.slice(end + 1);
      const pending = this.#pending.shift();
      if (pending === undefined) {
        // A reply nobody asked for: the stream is out of step, so the connection cannot be trusted.
        this.#socket.destroy(new LineKvError('EPROTO', 'LineKV: unexpected reply from the server'));
        return;
      }
      if (line.startsWith('+')) pending.resolve(line.slice(1));
      else if (line === '_') pending.resolve(null);
      else {
        const space = line.indexOf(' ');
        const code = line.slice(1, space === -1 ? undefined : space);
        pending.reject(new LineKvError(code, `LineKV: ${space === -1 ? code : line.slice(space + 1)}`));
      }
    }
  }

  #onClose(error: Error | undefined): void {
    this.#closed = true;
    const closed = new LineKvError('ECLOSED', 'LineKV: the connection closed', error === undefined ? undefined : { cause: error });
    for (const pending of this.#pending.splice(0)) pending.reject(closed);
    this.emit('close', error);
  }
}
