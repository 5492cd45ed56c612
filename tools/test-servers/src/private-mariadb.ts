import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { freePort } from './free-port.js';
import { findExecutable, isAlive, runCommand, sleepMs } from './process.js';

/** The temporary directories' prefix, then the creating process's pid (see {@link PrivateMariadb.removeStale}). */
const PREFIX = 'pool-test-mariadb_';

/** Options for both the bootstrap and the server: keep it small and quick to start. */
const SERVER_OPTIONS = ['--innodb-buffer-pool-size=16M', '--innodb-log-file-size=4M', '--skip-log-bin', '--loose-skip-feedback'];

/** The MariaDB server binary (`mariadbd`, or `mysqld` of a MariaDB install), or `null` when none is installed. */
export function mariadbdPath(): string | null {
  return findExecutable(['mariadbd', 'mysqld'], ['/usr/sbin', '/usr/libexec', '/usr/local/sbin', '/usr/local/mysql/bin']);
}

/** `mariadb-install-db` (or `mysql_install_db`), or `null` when none is installed. */
function installDbPath(): string | null {
  return findExecutable(['mariadb-install-db', 'mysql_install_db'], ['/usr/bin', '/usr/local/bin', '/usr/local/mysql/scripts']);
}

/**
 * Makes a data directory in `datadir` (root without a password, no test database); a failed bootstrap
 * is tried once more in a fresh directory, then reported with its output.
 */
async function installDb(installDb: string, datadir: string): Promise<void> {
  const args = [
    '--no-defaults',
    `--datadir=${datadir}`,
    `--user=${userInfo().username}`,
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
    '--skip-name-resolve',
    ...SERVER_OPTIONS,
  ];
  for (let attempt = 1; ; attempt++) {
    try {
      await runCommand(installDb, args, 120_000);
      return;
    } catch (error) {
      rmSync(datadir, { recursive: true, force: true });
      if (attempt === 2) throw error;
    }
  }
}

/**
 * A MariaDB server of the test's own, never the shared one on 3306: a data directory made by
 * `mariadb-install-db` in a temporary directory (root without a password, no test database, a small
 * redo log and buffer pool), and a `mariadbd` child process on a free port of 127.0.0.1 with its
 * socket, pid file and error log in that directory.
 *
 * {@link stop} (SIGTERM, a normal shutdown that ends every session) and {@link crash} (SIGKILL) with
 * {@link startAgain} give an outage with the same address and the same data; {@link destroy} kills the
 * server and removes the directory (call it from `afterAll`). The server is killed when the test
 * process exits without it, and one left by a test process that was killed is removed by the next
 * {@link start} ({@link removeStale}).
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
    /** The server binary (see {@link mariadbdPath}). */
    readonly binary: string,
    /** The temporary directory: `data/`, the socket, the pid file and the error log are in it. */
    readonly dir: string,
    /** The TCP port on 127.0.0.1, the same across restarts. */
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
   * Creates a data directory and starts the server; resolves once it answers a query. Servers and
   * directories left by test processes that are gone are removed first. Throws when MariaDB is not
   * installed (see {@link mariadbdPath}).
   */
  static async start(): Promise<PrivateMariadb> {
    const binary = mariadbdPath();
    if (binary === null) throw new Error('mariadbd is not installed (looked in /usr/sbin, /usr/libexec and on the PATH)');
    const installDbFile = installDbPath();
    if (installDbFile === null) throw new Error('mariadb-install-db is not installed');
    PrivateMariadb.removeStale();
    const dir = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}_`));
    try {
      await installDb(installDbFile, join(dir, 'data'));
      const db = new PrivateMariadb(binary, dir, await freePort());
      await db.startAgain();
      return db;
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /**
   * Kills the servers whose creating process is gone (a test run killed before its `afterAll`: the
   * creating pid is in the directory's name) and removes their directories.
   */
  static removeStale(): void {
    for (const name of readdirSync(tmpdir())) {
      const m = new RegExp(`^${PREFIX}(\\d+)_\\w+$`).exec(name);
      if (m === null || isAlive(Number(m[1]))) continue;
      const dir = join(tmpdir(), name);
      try {
        const pid = Number(readFileSync(join(dir, 'mariadbd.pid'), 'utf8').trim());
        // Only a server that runs on this very directory (pids are reused).
        if (pid > 0 && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) process.kill(pid, 'SIGKILL');
      } catch {
        // no pid file, or the server is gone already
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Starts the server (again, after {@link stop} or {@link crash}) on the same port and waits until it answers a query (60 s at most). */
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
        ...SERVER_OPTIONS,
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

  /** Kills the server (SIGKILL) and removes its directory. Never throws (for `afterAll`). */
  async destroy(): Promise<void> {
    await this.crash().catch(() => {});
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch (error) {
      console.error(`could not remove ${this.dir}: ${String(error)}`);
    }
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

  /** The last lines of the server's error log, for error messages. */
  #logTail(): string {
    try {
      return readFileSync(join(this.dir, 'error.log'), 'utf8').trim().split('\n').slice(-15).join('\n');
    } catch {
      return '(no error log)';
    }
  }
}
