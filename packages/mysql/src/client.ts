import mysql, { type Connection } from 'mysql2';

/**
 * @internal The property a `MysqlConnection` sets on its mysql2 connection to see every command queued
 * on it (`addCommand`) — through its own API, through mysql2's API used directly on the borrowed
 * connection, through `conn.promise()`, or through a library holding the raw connection (Kysely,
 * Drizzle) — and every event it emits.
 */
export const kObserver: unique symbol = Symbol('pool.mysql.observer');

/** @internal A mysql2 command (`Query`, `Execute`, `ChangeUser`, `Ping`...), as far as the observer reads it. */
export interface MysqlCommand {
  readonly constructor: { readonly name: string };
  /** The statement text of a `Query` (already formatted) or an `Execute`. */
  sql?: unknown;
  /** The bound parameters of an `Execute`. */
  values?: unknown;
  /** The callback mysql2 calls with the outcome (absent in event-emitter mode). */
  onResult?: ((err: Error | null, result?: unknown, fields?: unknown) => unknown) | null;
  emit(event: string | symbol, ...args: unknown[]): boolean;
}

/** @internal What sees a connection's commands and events. */
export interface ClientObserver {
  /** A command is being queued (called before mysql2 queues it). */
  command(command: MysqlCommand): void;
  /** The connection emits `event` (called before its listeners run). */
  event(event: string | symbol, arg: unknown): void;
}

/**
 * @internal Set on a connection the application is closing itself (`destroy()`, `end()`): the factory
 * then waits for its socket to close instead of sending COM_QUIT.
 */
export const kAbandoned: unique symbol = Symbol('pool.mysql.abandoned');

/** @internal What a connection class of ours carries. */
export interface ObservedClient {
  [kObserver]?: ClientObserver;
  [kAbandoned]?: boolean;
}

interface Commandable {
  addCommand(command: MysqlCommand): MysqlCommand;
  emit(event: string | symbol, ...args: unknown[]): boolean;
  listenerCount(event: string | symbol): number;
}

// biome-ignore lint/suspicious/noExplicitAny: TypeScript requires `any[]` for a mixin's constructor.
type ClientClass = abstract new (...args: any[]) => Connection;

/**
 * @internal Subclasses a mysql2 connection class so that its observer sees each command queued on an
 * instance and each event it emits, first. An `'error'` nobody listens to is handed to the observer
 * only, instead of crashing the process; no listener is added, so the connection's listeners are
 * mysql2's own (code that counts them sees what mysql2 gives). mysql2 replaces `addCommand` on the
 * instance once the connection closes (so later commands fail), which also ends the command observation.
 */
export function observeCommands<B extends ClientClass>(Base: B): B {
  const base = Base.prototype as unknown as Commandable;
  abstract class Observed extends Base {
    addCommand(command: MysqlCommand): MysqlCommand {
      // Read through a symbol, not a class field: mysql2 queues its handshake from its constructor,
      // before a field of this class would exist.
      (this as ObservedClient)[kObserver]?.command(command);
      return base.addCommand.call(this, command);
    }

    override emit(event: string | symbol, ...args: unknown[]): boolean {
      const observer = (this as ObservedClient)[kObserver];
      if (observer !== undefined) {
        observer.event(event, args[0]);
        if (event === 'error' && base.listenerCount.call(this, 'error') === 0) return false;
      }
      return base.emit.call(this, event, ...args);
    }
  }
  return Observed as unknown as B;
}

/** mysql2's connection class, with its real constructor signature (`{ config: ConnectionConfig }`). */
export const Mysql2Connection = mysql.Connection as unknown as new (options: { config: object }) => Connection;

/** mysql2's connection config class (`ConnectionConfig`): parses `uri`, applies defaults, warns about unknown options. */
export const Mysql2ConnectionConfig = (mysql as unknown as { ConnectionConfig: new (options: object) => object }).ConnectionConfig;

/** @internal The mysql2 connection {@link mysqlFactory} opens: mysql2's `Connection` with observed commands. */
export const ObservedConnection = observeCommands(Mysql2Connection);

/**
 * @internal A copy of a mysql2 `ConnectionConfig` for one connection (what mysql2's pool does): commands
 * such as `changeUser` change `connection.config` in place, which must not leak into other connections.
 */
export function copyConnectionConfig(config: object): object {
  return Object.create(Object.getPrototypeOf(config) as object | null, Object.getOwnPropertyDescriptors(config)) as object;
}
