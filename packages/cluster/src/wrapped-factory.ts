import type { ConnectionFactory, CreateContext, OperationContext } from '@pool/core';
import type { LeaseGroup } from './lease-group.js';
import type { LeaseQueue } from './lease-queue.js';

/**
 * @internal `factory` with every connection holding a slot of `group`: `create` first takes a slot,
 * `close` gives it back once the connection is closed (or abandoned), a failed `create` at once.
 * Everything else is passed through.
 */
export function wrapFactory<C>(factory: ConnectionFactory<C>, group: LeaseGroup, leases: LeaseQueue): ConnectionFactory<C> {
  const wrapped: ConnectionFactory<C> = {
    async create(ctx: CreateContext): Promise<C> {
      await leases.lease(group, ctx.signal);
      let conn: C;
      try {
        conn = await factory.create(ctx);
      } catch (error) {
        leases.unlease(group);
        throw error;
      }
      group.conns.set(conn, (group.conns.get(conn) ?? 0) + 1);
      return conn;
    },
    async close(conn: C, ctx: OperationContext): Promise<void> {
      let given = false;
      const give = (): void => {
        if (given) return;
        given = true;
        const n = group.conns.get(conn);
        if (n === undefined) return;
        if (n <= 1) group.conns.delete(conn);
        else group.conns.set(conn, n - 1);
        leases.unlease(group);
      };
      // The slot comes back once the connection is closed, or when the pool gives up waiting for the
      // close (it then abandons the connection; adapters destroy the socket on that signal).
      ctx.signal.addEventListener('abort', give, { once: true });
      try {
        await factory.close(conn, ctx);
      } finally {
        ctx.signal.removeEventListener('abort', give);
        give();
      }
    },
  };
  if (factory.validate !== undefined)
    wrapped.validate = (conn, ctx) => (factory.validate as NonNullable<typeof factory.validate>).call(factory, conn, ctx);
  if (factory.reset !== undefined)
    wrapped.reset = (conn, ctx) => (factory.reset as NonNullable<typeof factory.reset>).call(factory, conn, ctx);
  if (factory.isDirty !== undefined)
    wrapped.isDirty = (conn) => (factory.isDirty as NonNullable<typeof factory.isDirty>).call(factory, conn);
  if (factory.connectionMemoryBytes !== undefined) {
    wrapped.connectionMemoryBytes = (conn) =>
      (factory.connectionMemoryBytes as NonNullable<typeof factory.connectionMemoryBytes>).call(factory, conn);
  }
  if (factory.statistics !== undefined)
    wrapped.statistics = () => (factory.statistics as NonNullable<typeof factory.statistics>).call(factory);
  return wrapped;
}
