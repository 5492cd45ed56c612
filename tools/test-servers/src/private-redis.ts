import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { isAlive, runCommand } from './process.js';

/** Keep in step with the pattern in {@link PrivateRedis.removeStale}. */
const REDIS_PREFIX = 'pool-test-redis_';

/**
 * A Redis server of the test's own on a free port of 127.0.0.1, without persistence, never the shared
 * one on 6379. {@link stop} and {@link startAgain} give an outage with the same address (and, as a real
 * restart without persistence, an empty server); {@link shutdown} ends it for good. A server whose
 * test process was killed is shut down by the next {@link start} ({@link removeStale}).
 *
 * @example
 * ```ts
 * const redis = await PrivateRedis.start();
 * await redis.stop();
 * await redis.startAgain();
 * await redis.shutdown();
 * ```
 */
export class PrivateRedis {
  private constructor(readonly port: number) {}

  /** `redis://127.0.0.1:<port>`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<PrivateRedis> {
    await PrivateRedis.removeStale();
    const redis = new PrivateRedis(await freePort());
    await redis.startAgain();
    return redis;
  }

  /** Where the server writes its pid: the creating process's pid and the port are in the name. */
  get #pidFile(): string {
    return join(tmpdir(), `${REDIS_PREFIX}${process.pid}_${this.port}.pid`);
  }

  /** Shuts down servers of this suite whose creating process is gone (a run that crashed before afterAll). */
  static async removeStale(): Promise<void> {
    for (const file of readdirSync(tmpdir())) {
      const m = /^pool-test-redis_(\d+)_(\d+)\.pid$/.exec(file);
      if (m === null || isAlive(Number(m[1]))) continue;
      await runCommand('redis-cli', ['-p', String(m[2]), 'SHUTDOWN', 'NOSAVE'], 10_000).catch(() => '');
      rmSync(join(tmpdir(), file), { force: true });
    }
  }

  /** Starts (or restarts after {@link stop}) the server on the same port and waits until it answers. */
  async startAgain(): Promise<void> {
    await runCommand('redis-server', [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'yes',
      '--pidfile',
      this.#pidFile,
    ]);
    for (let i = 0; i < 100; i++) {
      const pong = await runCommand('redis-cli', ['-p', String(this.port), 'PING'], 5_000).catch(() => '');
      if (pong.trim() === 'PONG') return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`private redis on ${this.port} did not come up`);
  }

  /** `SHUTDOWN NOSAVE`: the server exits and every connection drops. */
  async stop(): Promise<void> {
    await runCommand('redis-cli', ['-p', String(this.port), 'SHUTDOWN', 'NOSAVE'], 10_000).catch(() => '');
    for (let i = 0; i < 100; i++) {
      const pong = await runCommand('redis-cli', ['-p', String(this.port), 'PING'], 5_000).catch(() => '');
      if (pong.trim() !== 'PONG') return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Calls to each command since the server started (or since `CONFIG RESETSTAT`), from `INFO commandstats`. */
  async commandCalls(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    const info = await runCommand('redis-cli', ['-p', String(this.port), 'INFO', 'commandstats'], 5_000).catch(() => '');
    for (const line of info.split('\n')) {
      const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
      if (m !== null) out[m[1] as string] = Number(m[2]);
    }
    return out;
  }

  /** Stops the server for good. Never throws (it is called from `afterAll`). */
  async shutdown(): Promise<void> {
    await this.stop().catch(() => {});
    rmSync(this.#pidFile, { force: true });
  }
}
