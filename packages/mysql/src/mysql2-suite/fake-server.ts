/**
 * mysql2's test server (`mysql.createServer()`), as mysql2's PoolCluster tests use it: a server whose
 * connections the test closes at once or greets with a handshake, to script node failures.
 */
import type { AddressInfo } from 'node:net';
import mysql from 'mysql2';

/** A connection of mysql2's test server, as the tests drive it. */
export interface FakeServerConnection {
  close(): void;
  serverHandshake(args: { serverVersion: string }): void;
  on(event: 'error', listener: (err: Error) => void): void;
}

/** mysql2's test server, as the tests drive it. */
export interface FakeServer {
  on(event: 'connection', listener: (conn: FakeServerConnection) => void): void;
  listen(port: number, cb: (err?: Error) => void): void;
  close(cb: () => void): void;
  _server: { address(): AddressInfo };
}

/** `mysql.createServer()` (untyped in mysql2's typings). */
export function createServer(): FakeServer {
  return (mysql as unknown as { createServer(): FakeServer }).createServer();
}
