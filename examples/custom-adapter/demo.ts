/**
 * The LineKV adapter in a pool: what the four factory methods buy you.
 *
 * Starts the LineKV server this example ships (or uses LINEKV_URL), then shows the pool serving
 * concurrent callers, resetting a session a borrower left dirty, and replacing a connection the server
 * killed. Run it with `pnpm --filter pool-adapter-linekv start`.
 */
import { ConnectionPool, PoolConfig } from '@pool/core';
import { LineKvServer } from './server/linekv-server.js';
import { LineKvClient, LineKvError, linekvFactory } from './src/index.js';

async function main(): Promise<void> {
  await using server = process.env.LINEKV_URL === undefined ? await LineKvServer.start({ password: 'demo-password' }) : null;
  const url = process.env.LINEKV_URL ?? `linekv://:demo-password@${server?.address}`;
  const factory = linekvFactory(url);
  const password = decodeURIComponent(new URL(url).password) || undefined;
  console.log(`server: ${server === null ? 'LINEKV_URL' : `LineKV started on ${server.address}`}; factory ${factory}`);

  const config = PoolConfig.builder().minSize(1).maxSize(4).acquireTimeoutMs(5_000).validateOnAcquire(true).build();
  const pool = await ConnectionPool.create(config, factory, { name: 'linekv' });
  try {
    // 1. Plain use.
    await pool.use((kv) => kv.command('SET', 'greeting', 'hello from a pooled connection'));
    console.log(`use: GET greeting -> ${await pool.use((kv) => kv.command('GET', 'greeting'))}`);

    // 2. Twenty callers at once, four connections: the rest wait their turn.
    const sessions = new Set<number>();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        pool.use(async (kv) => {
          sessions.add(kv.id);
          await kv.command('SLEEP', '10');
          await kv.command('SET', `job:${i}`, 'done');
        }),
      ),
    );
    console.log(`concurrency: 20 callers served by ${sessions.size} connections (maxSize ${config.maxSize})`);

    // 3. A borrower leaves a transaction open in another namespace: isDirty says so, the pool calls
    //    reset (RESET on the server) before anyone else gets the connection.
    await pool.use(async (kv) => {
      await kv.command('USE', 'scratch');
      await kv.command('BEGIN');
      await kv.command('SET', 'greeting', 'half-written');
      console.log(`dirty: borrower left namespace '${kv.namespace}' with a transaction open (isDirty ${factory.isDirty(kv)})`);
    });
    const after = await pool.use(async (kv) => [
      await kv.command('NAMESPACE'),
      await kv.command('TXSTATUS'),
      await kv.command('GET', 'greeting'),
    ]);
    console.log(`reset: next borrower sees namespace '${after[0]}', transaction ${after[1]}, greeting '${after[2]}'`);

    // 4. A command the server refuses is the driver's error; the connection stays usable.
    try {
      await pool.use((kv) => kv.command('FLY', 'me', 'to', 'the', 'moon'));
    } catch (error) {
      if (!(error instanceof LineKvError)) throw error;
      console.log(`error: ${error.code} ${error.message} (queryErrors ${factory.statistics().queryErrors})`);
    }

    // 5. The server kills an idle connection: the adapter reports it through markBroken, and the pool
    //    closes and replaces it at once, before any caller can get it.
    const victim = await pool.use((kv) => kv.id);
    const destroyed = new Promise<string>((resolve) => pool.once('destroy', (event) => resolve(event.reason)));
    const admin = await LineKvClient.connect({ host: factory.host, port: factory.port, password });
    await admin.command('KILL', String(victim));
    await admin.quit();
    console.log(`kill: session ${victim} killed by the server while idle: pool destroyed it (${await destroyed})`);
    const survivor = await pool.use(async (kv) => `${await kv.command('PING')} from session ${kv.id}`);
    console.log(`kill: the pool still serves: ${survivor}`);

    const stats = pool.statistics();
    console.log(
      `stats: ${stats.connectionsCreated} connections created, ${stats.connectionsDestroyed} destroyed, ${stats.acquired} borrows`,
    );
  } finally {
    await pool.close();
  }
  // Every session ended with QUIT: the server sees them all go (it notices a moment after the pool does).
  for (let i = 0; i < 100 && server !== null && server.sessions > 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
  console.log(`done: pool closed, ${server === null ? 'server not ours' : `${server.sessions} sessions left on the server`}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
