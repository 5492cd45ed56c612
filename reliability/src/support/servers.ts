import { execFile } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Private database servers for the tests that restart or stop one. The shared servers on 5432, 3306
 * and 6379 serve every package's tests at the same time: they are never restarted, stopped or
 * killed. A test that needs an outage starts its own instance on a free port, and removes it in
 * `afterAll` (also when the test failed).
 */

const run = promisify(execFile);

/** A free TCP port on 127.0.0.1 (the OS picks it; there is a small race until the server binds it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (typeof address === 'object' && address !== null) resolve(address.port);
        else reject(new Error('could not pick a free port'));
      });
    });
  });
}

async function sh(command: string, args: string[], timeoutMs = 60_000): Promise<string> {
  try {
    const { stdout } = await run(command, args, { timeout: timeoutMs });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message?: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** True when a process with this pid is alive. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const PG_PREFIX = 'reliability_';
/** Keep in step with the pattern in {@link PrivateRedis.removeStale}. */
const REDIS_PREFIX = 'reliability-redis_';

/** The newest PostgreSQL major version installed (Debian layout), e.g. `'15'`. */
function pgVersion(): string {
  const versions = readdirSync('/usr/lib/postgresql')
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  const v = versions[0];
  if (v === undefined) throw new Error('no PostgreSQL installation under /usr/lib/postgresql');
  return v;
}

let clusterCounter = 0;

/**
 * A PostgreSQL cluster of its own (Debian's `pg_createcluster`), with trust authentication on
 * localhost, on a free port. Start, stop and restart it at will; {@link drop} removes it.
 *
 * @example
 * ```ts
 * const pg = await PrivatePostgres.start();
 * await pg.restart();
 * await pg.drop();
 * ```
 */
export class PrivatePostgres {
  private constructor(
    readonly version: string,
    readonly name: string,
    readonly port: number,
  ) {}

  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** Creates and starts a cluster. Clusters left by a crashed earlier run of this suite are removed first. */
  static async start(): Promise<PrivatePostgres> {
    const version = pgVersion();
    await PrivatePostgres.removeStale(version);
    const name = `${PG_PREFIX}${process.pid}_${++clusterCounter}`;
    const port = await freePort();
    await sh('pg_createcluster', [version, name, '-p', String(port), '--start', '--', '--auth=trust'], 120_000);
    const pg = new PrivatePostgres(version, name, port);
    return pg;
  }

  /** Drops clusters of this suite whose creating process is gone. */
  static async removeStale(version = pgVersion()): Promise<void> {
    let entries: string[] = [];
    try {
      entries = readdirSync(`/etc/postgresql/${version}`);
    } catch {
      return;
    }
    for (const name of entries) {
      const m = new RegExp(`^${PG_PREFIX}(\\d+)_\\d+$`).exec(name);
      if (m === null || alive(Number(m[1]))) continue;
      await sh('pg_dropcluster', ['--stop', version, name]).catch(() => {});
    }
  }

  async #ctl(action: 'start' | 'stop' | 'restart', extra: string[] = []): Promise<void> {
    await sh('pg_ctlcluster', ['--skip-systemctl-redirect', this.version, this.name, action, ...extra], 120_000);
  }

  /** Stops the server (fast shutdown: sessions are terminated, as on a real restart). */
  stop(): Promise<void> {
    return this.#ctl('stop', ['-m', 'fast']);
  }

  /** Starts the server again. */
  startAgain(): Promise<void> {
    return this.#ctl('start');
  }

  /** `pg_ctlcluster restart` (fast mode). */
  restart(): Promise<void> {
    return this.#ctl('restart', ['-m', 'fast']);
  }

  /** Stops and removes the cluster. Never throws (it is called from `afterAll`). */
  async drop(): Promise<void> {
    await sh('pg_dropcluster', ['--stop', this.version, this.name]).catch((error: unknown) => {
      console.error(`could not drop cluster ${this.name}: ${String(error)}`);
    });
  }
}

/**
 * A Redis server of its own on a free port, without persistence. {@link stop} and {@link startAgain}
 * give an outage with the same address; {@link shutdown} ends it for good.
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
      const m = /^reliability-redis_(\d+)_(\d+)\.pid$/.exec(file);
      if (m === null || alive(Number(m[1]))) continue;
      await sh('redis-cli', ['-p', String(m[2]), 'SHUTDOWN', 'NOSAVE'], 10_000).catch(() => '');
      rmSync(join(tmpdir(), file), { force: true });
    }
  }

  /** Starts (or restarts after {@link stop}) the server on the same port and waits until it answers. */
  async startAgain(): Promise<void> {
    await sh('redis-server', [
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
      const pong = await sh('redis-cli', ['-p', String(this.port), 'PING'], 5_000).catch(() => '');
      if (pong.trim() === 'PONG') return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`private redis on ${this.port} did not come up`);
  }

  /** `SHUTDOWN NOSAVE`: the server exits and every connection drops. */
  async stop(): Promise<void> {
    await sh('redis-cli', ['-p', String(this.port), 'SHUTDOWN', 'NOSAVE'], 10_000).catch(() => '');
    for (let i = 0; i < 100; i++) {
      const pong = await sh('redis-cli', ['-p', String(this.port), 'PING'], 5_000).catch(() => '');
      if (pong.trim() !== 'PONG') return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops the server for good. Never throws (it is called from `afterAll`). */
  async shutdown(): Promise<void> {
    await this.stop().catch(() => {});
    rmSync(this.#pidFile, { force: true });
  }
}
