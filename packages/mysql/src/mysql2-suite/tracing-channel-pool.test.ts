// Port of the pool tests of sidorares/node-mysql2 test/integration/tracing-channel.test.mts
// ('mysql2:pool:connect'): getConnection() and query() publish on mysql2's tracing channel, with
// mysql2's context, and the connection's own channels (mysql2:query) still fire.
import assert from 'node:assert';
import diagnostics_channel from 'node:diagnostics_channel';
import { describe, it } from 'vitest';
import { config, createPool } from './common.js';

interface TraceEvent<T> {
  type: string;
  ctx: T;
}
interface PoolConnectTraceContext {
  database: string;
  serverAddress: string;
  serverPort: number | undefined;
}

function collectEvents<T>(events: TraceEvent<T>[]) {
  return {
    start(ctx: object) {
      events.push({ type: 'start', ctx: ctx as T });
    },
    end(ctx: object) {
      events.push({ type: 'end', ctx: ctx as T });
    },
    asyncStart(ctx: object) {
      events.push({ type: 'asyncStart', ctx: ctx as T });
    },
    asyncEnd(ctx: object) {
      events.push({ type: 'asyncEnd', ctx: ctx as T });
    },
    error(ctx: object) {
      events.push({ type: 'error', ctx: ctx as T });
    },
  };
}

function assertEvent<T>(events: TraceEvent<T>[], type: string): TraceEvent<T> {
  const event = events.find((e) => e.type === type);
  if (!event) {
    throw new Error(`expected '${type}' event to fire`);
  }
  return event;
}

describe('TracingChannel mysql2:pool:connect', () => {
  it('should trace pool getConnection', async () => {
    const events: TraceEvent<PoolConnectTraceContext>[] = [];
    const subscribers = collectEvents(events);
    const pool = createPool({ connectionLimit: 1 });

    diagnostics_channel.tracingChannel('mysql2:pool:connect').subscribe(subscribers);
    try {
      await new Promise<void>((resolve, reject) => {
        pool.getConnection((err, conn) => {
          if (err) return reject(err);
          conn.release();
          resolve();
        });
      });

      const start = assertEvent(events, 'start');
      assert.strictEqual(start.ctx.database, config.database);
      assert.strictEqual(start.ctx.serverAddress, config.host || 'localhost');

      assertEvent(events, 'asyncEnd');
    } finally {
      await pool.promise().end();
      diagnostics_channel.tracingChannel('mysql2:pool:connect').unsubscribe(subscribers);
    }
  });

  it('should trace pool.query() implicitly', async () => {
    const events: TraceEvent<PoolConnectTraceContext>[] = [];
    const subscribers = collectEvents(events);
    const queries: TraceEvent<{ query: string }>[] = [];
    const querySubscribers = collectEvents(queries);
    const pool = createPool({ connectionLimit: 1 });

    diagnostics_channel.tracingChannel('mysql2:pool:connect').subscribe(subscribers);
    diagnostics_channel.tracingChannel('mysql2:query').subscribe(querySubscribers);
    try {
      await new Promise<void>((resolve, reject) => {
        pool.query('SELECT 1', (err: Error | null) => {
          if (err) return reject(err);
          resolve();
        });
      });

      assertEvent(events, 'start');
      // The connection's channel, which mysql2 publishes itself, fires as well.
      assert.ok(queries.some((e) => e.type === 'start' && e.ctx.query === 'SELECT 1'));
    } finally {
      await pool.promise().end();
      diagnostics_channel.tracingChannel('mysql2:pool:connect').unsubscribe(subscribers);
      diagnostics_channel.tracingChannel('mysql2:query').unsubscribe(querySubscribers);
    }
  });
});
