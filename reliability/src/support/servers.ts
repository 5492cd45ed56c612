import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';

/**
 * Private database servers for the tests that restart, stop or crash one. The shared servers on 5432, 3306
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

/** Keep in step with the pattern in {@link PrivateMariadb.removeStale}. */
const MARIADB_PREFIX = 'reliability-mariadb_';

/** The first of `names` that is an executable file in `dirs` or on the `PATH`, or `null`. */
function findExecutable(names: readonly string[], dirs: readonly string[]): string | null {
  const path = (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '');
  for (const name of names) {
    for (const dir of [...dirs, ...path]) {
      const file = join(dir, name);
      try {
        accessSync(file, constants.X_OK);
        return file;
      } catch {
        // not here
      }
    }
  }
  return null;
}

/** The MariaDB server binary (`mariadbd`, or `mysqld` of a MariaDB install), or `null` when none is installed. */
export function mariadbdPath(): string | null {
  return findExecutable(['mariadbd', 'mysqld'], ['/usr/sbin', '/usr/libexec', '/usr/local/sbin', '/usr/local/mysql/bin']);
}

function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A MariaDB server of its own: a data directory made by `mariadb-install-db` in a temporary directory
 * (root without a password, no test database, a small redo log and buffer pool), and a `mariadbd`
 * child process on a free port of 127.0.0.1. {@link stop} (SIGTERM, a normal shutdown that ends every
 * session) and {@link crash} (SIGKILL) with {@link startAgain} give an outage with the same address
 * and the same data; {@link destroy} kills the server and removes the directory.
 *
 * @example
 * ```ts
 * const db = await PrivateMariadb.start();
 * await db.crash();
 * await db.startAgain();
 * await db.destroy();
 * ```
 */
export class PrivateMariadb {
  #child: ChildProcess | null = null;
  readonly #killOnExit = (): void => {
    this.#child?.kill('SIGKILL');
  };

  private constructor(
    readonly binary: string,
    /** The temporary directory: `data/`, the socket, the pid file and the error log are in it. */
    readonly dir: string,
    readonly port: number,
  ) {}

  /** `mysql://root@127.0.0.1:<port>/mysql`. */
  get url(): string {
    return `mysql://root@127.0.0.1:${this.port}/mysql`;
  }

  /** The pid of the running server, or `null` while it is down. */
  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  /**
   * Creates a data directory and starts the server. Servers and directories left by a crashed earlier
   * run of this suite are removed first. Throws when `mariadbd` is not installed (see {@link mariadbdPath}).
   */
  static async start(): Promise<PrivateMariadb> {
    const binary = mariadbdPath();
    if (binary === null) throw new Error('mariadbd is not installed');
    const installDb = findExecutable(
      ['mariadb-install-db', 'mysql_install_db'],
      ['/usr/bin', '/usr/local/bin', '/usr/local/mysql/scripts'],
    );
    if (installDb === null) throw new Error('mariadb-install-db is not installed');
    PrivateMariadb.removeStale();
    const dir = mkdtempSync(join(tmpdir(), `${MARIADB_PREFIX}${process.pid}_`));
    try {
      await sh(
        installDb,
        [
          '--no-defaults',
          `--datadir=${join(dir, 'data')}`,
          `--user=${userInfo().username}`,
          '--auth-root-authentication-method=normal',
          '--skip-test-db',
          '--skip-name-resolve',
          ...PrivateMariadb.#serverOptions,
        ],
        120_000,
      );
      const db = new PrivateMariadb(binary, dir, await freePort());
      await db.startAgain();
      return db;
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Options for both the bootstrap and the server: keep it small and quick to start. */
  static readonly #serverOptions = [
    '--innodb-buffer-pool-size=16M',
    '--innodb-log-file-size=4M',
    '--skip-log-bin',
    '--loose-skip-feedback',
  ];

  /** Kills servers of this suite whose creating process is gone (a run that crashed before afterAll) and removes their directories. */
  static removeStale(): void {
    for (const name of readdirSync(tmpdir())) {
      const m = /^reliability-mariadb_(\d+)_\w+$/.exec(name);
      if (m === null || alive(Number(m[1]))) continue;
      const dir = join(tmpdir(), name);
      try {
        const pid = Number(readFileSync(join(dir, 'mariadbd.pid'), 'utf8').trim());
        // Only a server that runs on this very data directory (pids are reused).
        if (pid > 0 && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) process.kill(pid, 'SIGKILL');
      } catch {
        // no pid file, or the server is gone already
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** The last lines of the server's error log, for error messages. */
  #logTail(): string {
    try {
      return readFileSync(join(this.dir, 'error.log'), 'utf8').trim().split('\n').slice(-15).join('\n');
    } catch {
      return '(no error log)';
    }
  }

  /** Starts the server (again, after {@link stop} or {@link crash}) on the same port and waits until it answers a query. */
  async startAgain(): Promise<void> {
    if (this.#child !== null) throw new Error(`private mariadb on ${this.port} is already running`);
    const child = spawn(
      this.binary,
      [
        '--no-defaults',
        `--datadir=${join(this.dir, 'data')}`,
        `--socket=${join(this.dir, 'mariadbd.sock')}`,
        `--pid-file=${join(this.dir, 'mariadbd.pid')}`,
        `--log-error=${join(this.dir, 'error.log')}`,
        `--port=${this.port}`,
        '--bind-address=127.0.0.1',
        `--user=${userInfo().username}`,
        '--skip-name-resolve',
        '--max-connections=100',
        ...PrivateMariadb.#serverOptions,
      ],
      { stdio: 'ignore' },
    );
    this.#child = child;
    process.once('exit', this.#killOnExit);
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    child.once('error', () => {
      exited = true;
    });
    const end = performance.now() + 60_000;
    while (performance.now() < end) {
      if (exited) {
        this.#child = null;
        process.off('exit', this.#killOnExit);
        throw new Error(`private mariadb on ${this.port} exited while starting:\n${this.#logTail()}`);
      }
      try {
        const c = await mysql.createConnection({ host: '127.0.0.1', port: this.port, user: 'root', connectTimeout: 2_000 });
        try {
          await c.query('SELECT 1');
          return;
        } finally {
          await c.end().catch(() => c.destroy());
        }
      } catch {
        await sleepMs(100);
      }
    }
    await this.#signal('SIGKILL');
    throw new Error(`private mariadb on ${this.port} did not come up within 60 s:\n${this.#logTail()}`);
  }

  /** Sends `signal` and waits for the process to exit (SIGKILL after 30 s if it will not). */
  async #signal(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    this.#child = null;
    process.off('exit', this.#killOnExit);
  }

  /** SIGTERM: a normal shutdown (every session is ended with ER_SERVER_SHUTDOWN); waits until the process exited. */
  stop(): Promise<void> {
    return this.#signal('SIGTERM');
  }

  /** SIGKILL: the server dies at once, as in a crash (InnoDB recovers at the next start); waits until the process exited. */
  crash(): Promise<void> {
    return this.#signal('SIGKILL');
  }

  /** {@link stop}, then {@link startAgain}. */
  async restart(): Promise<void> {
    await this.stop();
    await this.startAgain();
  }

  /** Kills the server (SIGKILL) and removes its directory. Never throws (it is called from `afterAll`). */
  async destroy(): Promise<void> {
    await this.crash().catch(() => {});
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch (error) {
      console.error(`could not remove ${this.dir}: ${String(error)}`);
    }
  }
}
