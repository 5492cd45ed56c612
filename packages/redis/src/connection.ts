import { inspect } from 'node:util';
import type { LogLevel } from '@pool/core';
import { abortable, ConnectionLifecycle, type FactoryCounters } from '@pool/core/adapter';
import type { Redis } from 'ioredis';

/** How `reset()` cleaned a session: the `RESET` command (Redis 6.2+), or the commands older servers have. */
export type RedisResetCommand = 'reset' | 'commands';

/** @internal What a connection shares with its factory. */
export interface ConnectionHost {
  readonly describe: string;
  /** The database a clean connection has selected (`db` of the config). */
  readonly db: number;
  /** Counts the borrowers' failed commands (`queryErrors`). */
  readonly counters: FactoryCounters<RedisConnection>;
  /** Writes to the factory's logger (nothing without one); `server` is added. */
  readonly log: (level: LogLevel, message: string, fields: Record<string, unknown>) => void;
}

/** @internal */
export const kInternals: unique symbol = Symbol('redis.internals');

/** What `sendCommand` receives: ioredis's `Command` (only the public fields read here). */
interface SentCommand {
  readonly name: string;
  readonly args: readonly unknown[];
  readonly promise: Promise<unknown>;
}

// Commands that block the connection until data arrives (XREAD/XREADGROUP only with BLOCK).
const BLOCKING = new Set(['blpop', 'brpop', 'brpoplpush', 'blmove', 'blmpop', 'bzpopmin', 'bzpopmax', 'bzmpop', 'wait', 'waitaof']);
// Commands whose effect outlives them on the session and that RESET (or the legacy reset) undoes.
const SESSION = new Set(['hello', 'auth', 'readonly', 'readwrite', 'monitor', 'reset', 'asking']);
const CLIENT_SESSION = new Set(['setname', 'tracking', 'reply', 'no-evict', 'no-touch', 'caching', 'setinfo']);

let connectionCounter = 0;

/**
 * One Redis connection from {@link redisFactory}: an ioredis client used by one borrower at a time,
 * plus what the pool needs to hand it to the next borrower clean — whether a `MULTI` is open, keys
 * are `WATCH`ed, channels are subscribed, another database is selected, a command is still running.
 *
 * Use `client` as you would any ioredis client; every command (also from pipelines and `multi()`)
 * is observed on its way out, so this tracking needs nothing from you. The client never reconnects
 * and never queues commands while disconnected: a dead connection fails at once and the pool
 * replaces it.
 *
 * @example
 * ```ts
 * const job = await pool.use(({ client }) => client.blpop('jobs', 5)); // blocks this connection only
 * ```
 */
export class RedisConnection {
  /** The ioredis client (connected, no offline queue, no reconnection). */
  readonly client: Redis;
  /** A number unique in this process, for logs. */
  readonly serial: number;
  readonly #host: ConnectionHost;
  readonly #lifecycle: ConnectionLifecycle;
  #clientId: number | null = null;
  #db: number;
  #multi = false;
  #watching = false;
  #subscribed = false;
  #sharded = false;
  #sessionDirty = false;
  #inflight = 0;
  #blocking = 0;
  #internal = false;
  #lastError: unknown = undefined;

  /** @internal Made by the factory only. */
  constructor(client: Redis, host: ConnectionHost, markBroken: (error?: unknown) => void) {
    this.client = client;
    this.serial = ++connectionCounter;
    this.#host = host;
    this.#db = host.db;
    this.#lifecycle = new ConnectionLifecycle(markBroken);
    const send = client.sendCommand.bind(client) as (command: SentCommand, ...rest: unknown[]) => Promise<unknown>;
    // Every command leaves through sendCommand (plain calls, pipelines, multi/exec, call()).
    (client as unknown as { sendCommand: (command: SentCommand, ...rest: unknown[]) => Promise<unknown> }).sendCommand = (
      command,
      ...rest
    ) => {
      this.#observe(command);
      return send(command, ...rest);
    };
    // Always listened to: ioredis reports connection errors as 'error' events. With reconnection off,
    // 'close' is final: the connection is broken (KILL, server restart, network cut).
    client.on('error', (error: unknown) => {
      this.#lastError = error;
    });
    client.on('close', () => {
      const lifecycle = this.#lifecycle;
      const news = !lifecycle.broken && !lifecycle.closing && lifecycle.live;
      const error = this.#lastError ?? new Error('Connection closed by the server');
      lifecycle.markBroken(error);
      // A connection the pool had, cut by the server or the network (CLIENT KILL, a restart, a failover).
      if (news) {
        host.log('warn', 'A pooled Redis connection was closed by the server or the network: the pool replaces it', {
          connection: this.serial,
          clientId: this.#clientId,
          commandsInFlight: this.#inflight,
          error,
        });
      }
    });
  }

  /** The server's id of this connection (`CLIENT ID`, what `CLIENT KILL ID` takes), once connected. */
  get clientId(): number | null {
    return this.#clientId;
  }

  /** The database selected now (as sent with `SELECT`). */
  get db(): number {
    return this.#db;
  }

  /** True while a `MULTI` is open (sent on its own: `multi({ pipeline: false })` or `call('MULTI')`). */
  get inTransaction(): boolean {
    return this.#multi;
  }

  /** True while keys are `WATCH`ed. */
  get watching(): boolean {
    return this.#watching;
  }

  /** True once the connection subscribed to a channel or pattern (until reset). */
  get subscribed(): boolean {
    return this.#subscribed;
  }

  /** True once the connection broke (`CLIENT KILL`, server restart, network error). */
  get broken(): boolean {
    return this.#lifecycle.broken;
  }

  /** Why it broke, if it did. */
  get brokenError(): unknown {
    return this.#lifecycle.brokenError;
  }

  /**
   * True when the connection carries state a reset must clear: an open `MULTI`, `WATCH`ed keys,
   * subscriptions, another database selected, a session setting (`CLIENT SETNAME`, `CLIENT TRACKING`,
   * `CLIENT REPLY`, `HELLO`, `AUTH`, `READONLY`...), or a command still running.
   */
  get dirty(): boolean {
    return (
      this.#lifecycle.broken ||
      this.#inflight > 0 ||
      this.#multi ||
      this.#watching ||
      this.#subscribed ||
      this.#sessionDirty ||
      this.#db !== this.#host.db
    );
  }

  /** Tells the pool the session was changed in a way this class cannot see, so it is reset before reuse. */
  markDirty(): void {
    this.#sessionDirty = true;
  }

  /** A short description (never the password). */
  toString(): string {
    return `RedisConnection(#${this.serial}, id ${this.#clientId ?? '-'}, ${this.#lifecycle.status}, ${this.#host.describe})`;
  }

  /** @internal */
  [inspect.custom](): string {
    return this.toString();
  }

  /** @internal What the factory needs. */
  get [kInternals](): {
    lifecycle: ConnectionLifecycle;
    setClientId(id: number): void;
    run(parts: string[], signal?: AbortSignal): Promise<unknown>;
    reset(command: RedisResetCommand, signal: AbortSignal, restore: RestoreSteps): Promise<void>;
    clean(): void;
    busy(): boolean;
  } {
    return {
      lifecycle: this.#lifecycle,
      setClientId: (id) => {
        this.#clientId = id;
      },
      run: (parts, signal) =>
        abortable(
          this.#internally(() => this.client.call(parts[0] as string, ...parts.slice(1))),
          signal,
        ),
      reset: (command, signal, restore) => this.#reset(command, signal, restore),
      clean: () => this.#clean(),
      busy: () => this.#inflight > 0,
    };
  }

  #observe(command: SentCommand): void {
    this.#inflight++;
    // ioredis's own methods use lower-case names; call('MULTI') keeps the case it was given.
    const name = command.name.toLowerCase();
    const blocking = BLOCKING.has(name) || ((name === 'xread' || name === 'xreadgroup') && hasBlock(command.args));
    if (blocking) this.#blocking++;
    const done = (): void => {
      this.#inflight--;
      if (blocking) this.#blocking--;
    };
    command.promise.then(done, (error: unknown) => {
      done();
      // The client's own handshake (before the pool has the connection) and our commands are not the borrower's.
      if (this.#lifecycle.live && !this.#internal) this.#host.counters.queryErrors++;
      return error;
    });
    if (this.#internal) return;
    switch (name) {
      case 'multi':
        this.#multi = true;
        break;
      case 'exec':
      case 'discard':
        this.#multi = false;
        this.#watching = false;
        break;
      case 'watch':
        this.#watching = true;
        break;
      case 'unwatch':
        this.#watching = false;
        break;
      case 'select': {
        const db = Number.parseInt(String(command.args[0]), 10);
        this.#db = Number.isInteger(db) ? db : Number.NaN;
        break;
      }
      case 'subscribe':
      case 'psubscribe':
        this.#subscribed = true;
        break;
      case 'ssubscribe':
        this.#subscribed = true;
        this.#sharded = true;
        break;
      case 'client':
        if (CLIENT_SESSION.has(String(command.args[0]).toLowerCase())) this.#sessionDirty = true;
        break;
      default:
        if (SESSION.has(name)) this.#sessionDirty = true;
    }
  }

  /** Sends commands that must not count as the borrower's (the factory's own setup and reset). */
  #internally<T>(send: () => Promise<T>): Promise<T> {
    this.#internal = true;
    try {
      return send();
    } finally {
      this.#internal = false;
    }
  }

  /**
   * Leaves subscriber mode through ioredis, naming what it subscribed (an `UNSUBSCRIBE` without names
   * when nothing is subscribed gets a reply ioredis never matches), so its own bookkeeping agrees with
   * the server: in RESP2 subscriber mode it refuses every other command, RESET included.
   */
  #unsubscribeAll(): Promise<unknown> {
    const client = this.client;
    const record = (client as unknown as { condition?: { subscriber?: SubscriptionRecord | false } | null }).condition?.subscriber;
    if (record === undefined) {
      // A client without that record (not expected from ioredis 5 or 6): unsubscribe from everything.
      return Promise.all([client.unsubscribe(), client.punsubscribe(), ...(this.#sharded ? [client.sunsubscribe()] : [])]);
    }
    if (record === false) return Promise.resolve();
    const steps: Promise<unknown>[] = [];
    const channels = record.channels('subscribe');
    const patterns = record.channels('psubscribe');
    const shards = record.channels('ssubscribe');
    if (channels.length > 0) steps.push(client.unsubscribe(...channels));
    if (patterns.length > 0) steps.push(client.punsubscribe(...patterns));
    if (shards.length > 0) steps.push(client.sunsubscribe(...shards));
    return Promise.all(steps);
  }

  #clean(): void {
    this.#multi = false;
    this.#watching = false;
    this.#subscribed = false;
    this.#sharded = false;
    this.#sessionDirty = false;
    this.#db = this.#host.db;
  }

  /**
   * Returns the connection to the state of a new one. A blocking command still running (a borrower
   * gave up on a `BLPOP`) would hold the reset back until it returns: the reset fails at once instead
   * and the pool replaces the connection.
   */
  async #reset(command: RedisResetCommand, signal: AbortSignal, restore: RestoreSteps): Promise<void> {
    if (this.#lifecycle.broken) throw this.#lifecycle.brokenError;
    if (this.#blocking > 0) throw new Error('A blocking command is still running on this connection; it cannot be reset');
    const client = this.client;
    if (this.#subscribed)
      await abortable(
        this.#internally(() => this.#unsubscribeAll()),
        signal,
      );
    const steps: Promise<unknown>[] = [];
    this.#internal = true;
    try {
      if (command === 'reset') {
        steps.push(client.call('RESET'));
        // RESET deauthenticates and switches to RESP2: negotiate the protocol and authenticate again.
        if (restore.protocol === 3) steps.push(client.call('HELLO', '3', ...restore.hello));
        else if (restore.auth.length > 0) steps.push(client.call('AUTH', ...restore.auth));
      } else {
        if (this.#multi) steps.push(client.call('DISCARD'));
        steps.push(client.call('UNWATCH'));
        if (this.#sessionDirty) {
          steps.push(client.call('CLIENT', 'SETNAME', restore.name ?? ''));
          steps.push(client.call('CLIENT', 'TRACKING', 'OFF').catch(() => undefined)); // unknown before Redis 6
          if (restore.auth.length > 0) steps.push(client.call('AUTH', ...restore.auth));
        }
      }
      steps.push(client.select(this.#host.db));
      if (command === 'reset' && restore.name !== null) steps.push(client.call('CLIENT', 'SETNAME', restore.name));
      if (restore.readOnly) steps.push(client.call('READONLY'));
    } finally {
      this.#internal = false;
    }
    await abortable(Promise.all(steps), signal);
    this.#clean();
  }
}

/** @internal What a reset must restore after `RESET` (which drops authentication, protocol, name and database). */
export interface RestoreSteps {
  /** 2 or 3: the protocol the client speaks. */
  readonly protocol: number;
  /** What follows `HELLO 3`: `['AUTH', user, password]`, or `[]` without credentials. */
  readonly hello: readonly string[];
  /** The arguments of `AUTH`: `[password]`, `[user, password]`, or `[]` without credentials. */
  readonly auth: readonly string[];
  /** The configured `connectionName`, or null. */
  readonly name: string | null;
  /** The configured `readOnly` (cluster replicas). */
  readonly readOnly: boolean;
}

/** ioredis's record of a connection's subscriptions (`condition.subscriber`, in its typings). */
interface SubscriptionRecord {
  channels(kind: 'subscribe' | 'psubscribe' | 'ssubscribe'): string[];
}

function hasBlock(args: readonly unknown[]): boolean {
  for (const a of args) if (String(a).toUpperCase() === 'BLOCK') return true;
  return false;
}
