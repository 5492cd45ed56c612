/**
 * Workers that wait for jobs with BLPOP, each on a pooled ioredis connection of its own, beside one
 * shared ioredis client for every other command.
 *
 * A blocking command holds its connection until a job arrives: every command queued behind it on the
 * same connection waits too. So the shared client (which pipelines everything else of the process)
 * must never block, and each blocked consumer gets a dedicated connection from a pool whose maxSize
 * caps how many can block at once.
 *
 * Run it with `pnpm --filter @pool/example-redis-blocking start` (REDIS_URL overrides the server).
 */
import { ConnectionTimeoutError } from '@pool/core';
import { createRedisPool } from '@pool/redis';
import { Redis } from 'ioredis';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const WORKERS = 4;
const JOBS = 40;
const STOP = 'stop';
// Keys of our own, so several runs (or CI jobs) on one server never collide.
const prefix = `example:redis-blocking:${process.pid}:${Date.now().toString(36)}`;
const queue = `${prefix}:jobs`;
const results = `${prefix}:results`;

async function main(): Promise<void> {
  // The shared client: plain commands, pipelined. It never runs a blocking command.
  const shared = new Redis(url, { lazyConnect: true });
  await shared.connect();
  // The pool: one dedicated connection per blocked consumer, at most WORKERS of them.
  const redis = createRedisPool(url, { poolConfig: { maxSize: WORKERS, acquireTimeoutMs: 5_000 }, poolOptions: { name: 'workers' } });
  try {
    console.log(`pool: up to ${WORKERS} dedicated connections for BLPOP; one shared client for everything else`);

    const workerIds = new Set<string>();
    let processed = 0;
    let allProcessed: () => void = () => {};
    const finished = new Promise<void>((resolve) => (allProcessed = resolve));

    /** One worker: BLPOP on a pooled connection, handle the job, give the connection back, repeat. */
    async function worker(n: number): Promise<number> {
      let handled = 0;
      for (;;) {
        // use() borrows a connection for the BLPOP only and always gives it back.
        const reply = await redis.use(({ client, clientId }) => {
          workerIds.add(String(clientId));
          return client.blpop(queue, 5); // [key, value], or null after 5 s without a job
        });
        if (reply === null) continue;
        const payload = reply[1];
        if (payload === STOP) return handled;
        const job = JSON.parse(payload) as { id: number; n: number };
        // Results go through the shared client: HSETNX records each job once.
        await shared.hsetnx(results, String(job.id), JSON.stringify({ worker: n, square: job.n * job.n }));
        handled += 1;
        processed += 1;
        if (processed === JOBS) allProcessed();
      }
    }
    const workers = Array.from({ length: WORKERS }, (_, i) => worker(i + 1));

    // Wait until the server reports every worker's connection blocked (CLIENT LIST flag `b`).
    const blocked = await waitFor(async () => {
      if (workerIds.size < WORKERS) return null;
      const list = (await shared.call('CLIENT', 'LIST', 'ID', ...workerIds)) as string;
      const count = list.split('\n').filter((line) => / flags=\w*b/.test(line)).length;
      return count === WORKERS ? count : null;
    });
    const size = redis.size();
    console.log(`workers: ${blocked} blocked in BLPOP on ${queue} (pool: ${size.active} borrowed, ${size.idle} idle)`);

    // The shared client is not stuck behind them.
    const started = performance.now();
    await shared.ping();
    console.log(`shared client: PING answered in ${(performance.now() - started).toFixed(1)} ms while every worker was blocked`);

    // A fifth consumer would wait for a connection: size the pool for the consumers you run.
    try {
      await redis.use(({ client }) => client.blpop(queue, 1), { timeoutMs: 100 });
    } catch (error) {
      if (!(error instanceof ConnectionTimeoutError)) throw error;
      console.log(`fifth consumer: ${error.code} after ${error.timeoutMs} ms (all ${WORKERS} connections are blocked)`);
    }

    // Produce jobs through the shared client; the workers take them as they arrive.
    for (let id = 1; id <= JOBS; id += 1) await shared.rpush(queue, JSON.stringify({ id, n: id }));
    console.log(`produced: ${JOBS} jobs`);
    await Promise.race([finished, Promise.all(workers)]); // a worker that fails ends the wait

    // Stop: one poison pill per worker, so none waits for its BLPOP timeout.
    await shared.rpush(queue, ...Array.from({ length: WORKERS }, () => STOP));
    const handled = await Promise.all(workers);
    console.log(`workers: handled ${handled.join(', ')} jobs`);

    const recorded = await shared.hlen(results);
    const squares = Object.values(await shared.hgetall(results)).map((v) => (JSON.parse(v) as { square: number }).square);
    const sum = squares.reduce((a, b) => a + b, 0);
    console.log(
      `result: ${recorded} of ${JOBS} jobs recorded, each once (sum of squares ${sum}); workers handled ${handled.reduce((a, b) => a + b, 0)}`,
    );
  } finally {
    await redis.close();
    await shared.del(queue, results);
    await shared.quit();
  }
  console.log(`done: pool closed (${redis.size().total} connections open), keys deleted`);
}

/** Polls `probe` every 10 ms until it returns a value (at most 10 s). */
async function waitFor<T>(probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting for the workers to block');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
