import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';

const run = promisify(execFile);

/** The temporary directories' prefix (then the creating process's pid). */
const PREFIX = 'pool-mysql-cluster-';

/** True while process `pid` exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Small and quick to start. */
const SERVER_OPTIONS = ['--innodb-buffer-pool-size=16M', '--innodb-log-file-size=4M', '--skip-log-bin', '--loose-skip-feedback'];

/** A free TCP port on 127.0.0.1 (the OS picks it). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** `mariadb-install-db` into `datadir`; a failed bootstrap is tried once more (in a fresh directory), then reported with its output. */
async function installDb(datadir: string): Promise<void> {
  const args = ['--no-defaults', `--datadir=${datadir}`, '--user=root', '--skip-test-db', '--skip-name-resolve', ...SERVER_OPTIONS];
  for (let attempt = 1; ; attempt++) {
    try {
      await run('mariadb-install-db', args, { timeout: 120_000 });
      return;
    } catch (error) {
      rmSync(datadir, { recursive: true, force: true });
      if (attempt === 2) {
        const e = error as { stdout?: string; stderr?: string; message?: string };
        throw new Error(`mariadb-install-db failed: ${e.message}\n${e.stderr ?? ''}\n${(e.stdout ?? '').slice(-2_000)}`);
      }
    }
  }
}

/**
 * A MariaDB server of the test's own, never the shared one on 3306: `mariadb-install-db` into a
 * temporary data directory, then `mariadbd` on a free port of 127.0.0.1 with its socket, pid file and
 * log in that directory, grant tables skipped (root, no password). {@link stop} ends it (SIGTERM) and
 * {@link start} brings it back on the same port and data; {@link destroy} kills it and removes the directory.
 */
export class PrivateMariadb {
  #child: ChildProcess | null = null;
  readonly #kill = (): void => {
    this.#child?.kill('SIGKILL');
  };

  private constructor(
    /** The temporary directory (data, socket, pid file, error log). */
    readonly dir: string,
    /** The TCP port, the same across restarts. */
    readonly port: number,
  ) {}

  /** `mysql://root@127.0.0.1:<port>/mysql`. */
  get url(): string {
    return `mysql://root@127.0.0.1:${this.port}/mysql`;
  }

  /** Creates the data directory and starts the server (throws when MariaDB is not installed). */
  static async create(): Promise<PrivateMariadb> {
    PrivateMariadb.removeStale();
    const dir = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`));
    try {
      await installDb(join(dir, 'data'));
      const db = new PrivateMariadb(dir, await freePort());
      await db.start();
      return db;
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /**
   * Kills the servers of test processes that died before their `afterAll` (the creating pid is in the
   * directory name; a server is killed only if it runs on that very directory) and removes their directories.
   */
  static removeStale(): void {
    for (const name of readdirSync(tmpdir())) {
      const m = new RegExp(`^${PREFIX}(\\d+)-\\w+$`).exec(name);
      if (m === null || alive(Number(m[1]))) continue;
      const dir = join(tmpdir(), name);
      try {
        const pid = Number(readFileSync(join(dir, 'mariadbd.pid'), 'utf8').trim());
        if (pid > 0 && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) process.kill(pid, 'SIGKILL');
      } catch {
        // no pid file, or the server is gone already
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Starts the server (again) and waits until it answers a query. */
  async start(): Promise<void> {
    if (this.#child !== null) throw new Error(`private mariadb on ${this.port} is already running`);
    const child = spawn(
      'mariadbd',
      [
        '--no-defaults',
        `--datadir=${join(this.dir, 'data')}`,
        `--socket=${join(this.dir, 'mariadbd.sock')}`,
        `--pid-file=${join(this.dir, 'mariadbd.pid')}`,
        `--log-error=${join(this.dir, 'error.log')}`,
        `--port=${this.port}`,
        '--bind-address=127.0.0.1',
        '--user=root',
        '--skip-grant-tables',
        '--skip-name-resolve',
        ...SERVER_OPTIONS,
      ],
      { stdio: 'ignore' },
    );
    this.#child = child;
    process.once('exit', this.#kill);
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    const deadline = performance.now() + 60_000;
    while (performance.now() < deadline) {
      if (exited) {
        this.#child = null;
        throw new Error(`private mariadb on ${this.port} exited while starting:\n${this.#logTail()}`);
      }
      try {
        const c = await mysql.createConnection({ host: '127.0.0.1', port: this.port, user: 'root', connectTimeout: 2_000 });
        await c.query('SELECT 1');
        await c.end();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await this.stop('SIGKILL');
    throw new Error(`private mariadb on ${this.port} did not come up within 60 s:\n${this.#logTail()}`);
  }

  /** Ends the server (SIGTERM: a normal shutdown that ends every session) and waits until it has exited. */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
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
    process.off('exit', this.#kill);
  }

  /** Kills the server and removes its directory; never throws (for `afterAll`). */
  async destroy(): Promise<void> {
    await this.stop('SIGKILL').catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }

  #logTail(): string {
    try {
      return readFileSync(join(this.dir, 'error.log'), 'utf8').trim().split('\n').slice(-15).join('\n');
    } catch {
      return '(no error log)';
    }
  }
}
