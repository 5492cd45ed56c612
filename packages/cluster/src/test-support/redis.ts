import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const run = promisify(execFile);

/** The shared Redis every package's tests use (never restarted or flushed: only our own keys are touched). */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The shared PostgreSQL. */
export const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A key prefix no other test run uses: `test:cluster:<random>:`. */
export function uniquePrefix(): string {
  return `test:cluster:${process.pid}:${randomBytes(4).toString('hex')}:`;
}

/** Deletes every key under `prefix` (ours only), with SCAN so the shared server is not blocked. */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  try {
    await client.connect();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

/** A free TCP port on 127.0.0.1 (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function cli(port: number, ...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('redis-cli', ['-p', String(port), ...args], { timeout: 5_000 });
    return stdout.trim();
  } catch {
    return '';
  }
}

/**
 * A Redis server of this test's own, on a free port, without persistence: the one a test may stop,
 * restart (losing its state, as a real restart without persistence does) and read `INFO` from.
 */
export class PrivateRedis {
  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.startAgain();
    return redis;
  }

  /** Starts the server (again) on the same port and waits until it answers. */
  async startAgain(): Promise<void> {
    await run(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'yes'],
      {
        timeout: 10_000,
      },
    );
    for (let i = 0; i < 200; i++) {
      if ((await cli(this.port, 'PING')) === 'PONG') return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`private redis on port ${this.port} did not come up`);
  }

  /** `SHUTDOWN NOSAVE`, then waits until it no longer answers. */
  async stop(): Promise<void> {
    await cli(this.port, 'SHUTDOWN', 'NOSAVE');
    for (let i = 0; i < 200; i++) {
      if ((await cli(this.port, 'PING')) !== 'PONG') return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Calls to each command since the server started (or since `CONFIG RESETSTAT`), from `INFO commandstats`. */
  async commandCalls(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const line of (await cli(this.port, 'INFO', 'commandstats')).split('\n')) {
      const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
      if (m !== null) out[m[1] as string] = Number(m[2]);
    }
    return out;
  }
}

/**
 * A Redis Cluster of three primaries of this test's own (free ports, a temporary directory for their
 * node files), created with `redis-cli --cluster create`. {@link stop} shuts every node down.
 */
export class PrivateRedisCluster {
  private constructor(
    readonly ports: number[],
    readonly dir: string,
  ) {}

  static async start(): Promise<PrivateRedisCluster> {
    const { mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'pool-cluster-test-'));
    const ports = [await freePort(), await freePort(), await freePort()];
    const cluster = new PrivateRedisCluster(ports, dir);
    for (const port of ports) {
      await run(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--dir',
          dir,
          '--save',
          '',
          '--appendonly',
          'no',
          '--daemonize',
          'yes',
        ],
        { timeout: 10_000 },
      );
    }
    for (const port of ports) {
      for (let i = 0; i < 200 && (await cli(port, 'PING')) !== 'PONG'; i++) await new Promise((r) => setTimeout(r, 50));
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: 30_000,
    });
    for (let i = 0; i < 200; i++) {
      const info = await cli(ports[0] as number, 'CLUSTER', 'INFO');
      if (info.includes('cluster_state:ok')) return cluster;
      await new Promise((r) => setTimeout(r, 50));
    }
    await cluster.stop();
    throw new Error('private redis cluster did not become ok');
  }

  /** The hash slot of `key` (asked from the cluster itself). */
  async keySlot(key: string): Promise<number> {
    return Number(await cli(this.ports[0] as number, 'CLUSTER', 'KEYSLOT', key));
  }

  async stop(): Promise<void> {
    for (const port of this.ports) await cli(port, 'SHUTDOWN', 'NOSAVE');
    const { rm } = await import('node:fs/promises');
    await rm(this.dir, { recursive: true, force: true });
  }
}
