import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { freePort } from '@pool/test-servers';
import { Redis } from 'ioredis';

export { PrivateRedis } from '@pool/test-servers';

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

async function cli(port: number, ...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('redis-cli', ['-p', String(port), ...args], { timeout: 5_000 });
    return stdout.trim();
  } catch {
    return '';
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
