/**
 * The seed's "Connection Factory Implementation" (MyConnectionFactory with create / validate / reset /
 * close), translated per DESIGN.md as the testkit README shows it, and checked by the conformance suite
 * the way a third-party adapter package would check its own factory.
 */
import type { ConnectionFactory, CreateContext } from '@pool/core';
import { ConnectionPool, PoolConfig } from '@pool/core';
import { expect, it } from 'vitest';
import { testAdapter } from './conformance.js';

/** A stand-in for a driver's connection: an in-memory session that can be "killed by the server". */
class MyConnection {
  #connected = true;
  #state = new Map<string, string>();
  #onLost: ((error: Error) => void) | undefined;

  static async connect({ signal, onLost }: { signal: AbortSignal; onLost: (error: Error) => void }): Promise<MyConnection> {
    signal.throwIfAborted();
    const conn = new MyConnection();
    conn.#onLost = onLost;
    return conn;
  }

  isConnected(): boolean {
    return this.#connected;
  }

  async execute(command: string): Promise<string> {
    if (!this.#connected) throw new Error('connection lost');
    const [verb, key = '', value = ''] = command.split(' ');
    if (verb === 'SET') this.#state.set(key, value);
    return verb === 'GET' ? (this.#state.get(key) ?? '') : 'OK';
  }

  resetState(): void {
    if (!this.#connected) throw new Error('connection lost');
    this.#state.clear();
  }

  disconnect(): void {
    this.#connected = false;
  }

  /** What the server does on a kill: the connection drops and the driver reports it. */
  serverKill(): void {
    this.#connected = false;
    this.#onLost?.(new Error('terminated by the server'));
  }
}

// --- the README's translation of the seed's MyConnectionFactory ---
const myConnectionFactory: ConnectionFactory<MyConnection> = {
  // Create new connection; pass the signal on, and report a connection that breaks by itself.
  async create({ signal, markBroken }: CreateContext) {
    return MyConnection.connect({ signal, onLost: markBroken });
  },
  // Validate connection is healthy
  async validate(connection) {
    return connection.isConnected();
  },
  // Reset connection state
  async reset(connection) {
    connection.resetState();
  },
  // Close connection (safe on a broken one)
  async close(connection) {
    connection.disconnect();
  },
};

testAdapter({
  name: 'the seed example factory (MyConnectionFactory)',
  factory: myConnectionFactory,
  ping: (conn) => conn.execute('PING'),
  killConnection: async (conn) => conn.serverKill(),
  setSessionState: async (conn) => {
    await conn.execute('SET mode fast');
  },
  readSessionState: (conn) => conn.execute('GET mode'),
});

it('the seed example factory runs a pool from PoolConfig.default()', async () => {
  const pool = await ConnectionPool.create(PoolConfig.default(), myConnectionFactory);
  await using conn = await pool.acquire();
  expect(await conn.connection.execute('PING')).toBe('OK');
  conn.release();
  await pool.close();
});
