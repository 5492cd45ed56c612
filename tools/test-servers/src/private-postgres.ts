import { spawnSync } from 'node:child_process';
import { appendFileSync, chownSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './free-port.js';
import { isAlive, runCommand, sleepMs } from './process.js';

/** The temporary directories' prefix, then the creating process's pid (see {@link PrivatePostgres.removeStale}). */
const PREFIX = 'pool-test-pg_';

/** How long one `initdb`, `pg_basebackup` or `pg_ctl` call may take. */
const TOOL_TIMEOUT_MS = 150_000;

/** `postgresql.conf` settings, by name: each value is written single-quoted. */
export type PostgresSettings = Readonly<Record<string, string | number>>;

/** How {@link PrivatePostgres.start} sets up the server. */
export interface PrivatePostgresOptions {
  /**
   * `postgresql.conf` settings added after `initdb`, over the defaults (`max_connections = 200`). The
   * port, `listen_addresses` (127.0.0.1) and the socket directory are always the server's own.
   */
  readonly settings?: PostgresSettings;
}

/** What `pg_ctl stop` does to the sessions: `fast` ends them (a normal restart), `immediate` is a crash. */
export type PostgresStopMode = 'fast' | 'immediate';

/**
 * A PostgreSQL server of the test's own, never the shared one on 5432: `initdb` into a temporary
 * directory (`data/`, with `server.log` and the socket beside it), run by `pg_ctl` on a free port of
 * 127.0.0.1 with trust authentication (user `postgres`). It needs only PostgreSQL's own binaries (the
 * newest under `/usr/lib/postgresql`, or `PG_BIN`). When the tests run as root (initdb and postgres
 * refuse root), every PostgreSQL tool runs as the `postgres` user through `runuser`, in a directory it
 * owns.
 *
 * {@link stop}, {@link startAgain}, {@link restart} and {@link crash} give an outage with the same
 * address and data; {@link destroy} stops the server and removes the directory (call it from
 * `afterAll`). A server whose test process exits without it is stopped by an exit hook, and one whose
 * process was killed is removed by the next {@link start} ({@link removeStale}).
 *
 * @example
 * ```ts
 * const server = await PrivatePostgres.start();
 * await server.stop();
 * await server.startAgain();
 * await server.crash(); // pg_ctl restart -m immediate
 * await server.destroy();
 * ```
 */
export class PrivatePostgres {
  readonly #stopOnExit = (): void => {
    stopSync(this.bin, this.dataDir);
  };

  private constructor(
    /** The directory of PostgreSQL's binaries (`initdb`, `pg_ctl`, ...). */
    readonly bin: string,
    /** The temporary directory: `data/`, `server.log` and the socket are in it. */
    readonly dir: string,
    /** The TCP port on 127.0.0.1, the same across restarts. */
    readonly port: number,
  ) {}

  /** The data directory. */
  get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** `127.0.0.1:<port>`. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /**
   * Runs `initdb` into a fresh temporary directory and starts the server; resolves once it accepts
   * connections. Servers left by test processes that are gone are removed first.
   */
  static start(options: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
    return PrivatePostgres.#create(async (server) => {
      await server.#run('initdb', ['-D', server.dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--no-instructions']);
      server.#appendSettings({ max_connections: 200, ...options.settings });
    });
  }

  /**
   * A streaming replica of `primary` (`pg_basebackup -R -X stream`, so it starts as a hot standby with
   * the primary's settings); resolves once it accepts connections. The primary must allow replication
   * connections (`wal_level = replica`, `max_wal_senders`; initdb's `pg_hba.conf` already trusts them
   * from 127.0.0.1).
   */
  static replicaOf(primary: PrivatePostgres): Promise<PrivatePostgres> {
    return PrivatePostgres.#create(async (server) => {
      await server.#run('pg_basebackup', [
        '-h',
        '127.0.0.1',
        '-p',
        String(primary.port),
        '-U',
        'postgres',
        '-D',
        server.dataDir,
        '-R',
        '-X',
        'stream',
      ]);
      server.#appendSettings({});
    });
  }

  /** A new directory and port, filled by `populate`, then the server started; removed again on a failure. */
  static async #create(populate: (server: PrivatePostgres) => Promise<void>): Promise<PrivatePostgres> {
    const bin = pgBin();
    await PrivatePostgres.removeStale(bin);
    const dir = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}_`));
    const owner = serverUser();
    if (owner !== null) chownSync(dir, owner.uid, owner.gid);
    const server = new PrivatePostgres(bin, dir, await freePort());
    process.once('exit', server.#stopOnExit);
    try {
      await populate(server);
      await server.startAgain();
    } catch (error) {
      await server.destroy();
      throw error;
    }
    return server;
  }

  /**
   * Stops (immediate) and removes the servers whose creating process is gone (a test run killed before
   * its `afterAll`): the creating pid is in the directory's name.
   *
   * @param bin PostgreSQL's bin directory; looked up (as {@link start} does) only when there is a stale server
   */
  static async removeStale(bin?: string): Promise<void> {
    for (const name of readdirSync(tmpdir())) {
      const m = new RegExp(`^${PREFIX}(\\d+)_`).exec(name);
      if (m === null || isAlive(Number(m[1]))) continue;
      const dir = join(tmpdir(), name);
      bin ??= pgBin();
      await runTool(bin, 'pg_ctl', ['-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop'], 30_000).catch(() => '');
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Starts the server (after {@link stop}) and waits until it accepts connections. */
  async startAgain(): Promise<void> {
    await this.#run('pg_ctl', ['-D', this.dataDir, '-l', this.#log, '-w', '-t', '120', 'start']);
  }

  /** `pg_ctl stop`, fast by default (sessions are ended, as on a real restart); `immediate` is a crash. Waits until the server is down. */
  async stop(mode: PostgresStopMode = 'fast'): Promise<void> {
    await this.#run('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', '-t', '120', 'stop']);
  }

  /** `pg_ctl restart -m fast`: a normal restart. */
  async restart(): Promise<void> {
    await this.#run('pg_ctl', ['-D', this.dataDir, '-l', this.#log, '-m', 'fast', '-w', '-t', '120', 'restart']);
  }

  /** `pg_ctl restart -m immediate`: every process is killed without a shutdown (a crash); the server recovers and starts again. */
  async crash(): Promise<void> {
    await this.#run('pg_ctl', ['-D', this.dataDir, '-l', this.#log, '-m', 'immediate', '-w', '-t', '120', 'restart']);
  }

  /** `pg_ctl promote`: a standby becomes a primary (waits until it accepts writes). */
  async promote(): Promise<void> {
    await this.#run('pg_ctl', ['-D', this.dataDir, '-w', '-t', '120', 'promote']);
  }

  /** Runs SQL on a short-lived connection and resolves with the rows. */
  async query<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, values?: unknown[]): Promise<R[]> {
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 10_000 });
    client.on('error', () => {});
    await client.connect();
    try {
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end().catch(() => {});
    }
  }

  /**
   * The postmaster's pid and status (`'ready'`, `'starting'`, `'stopping'`, `'standby'`) from
   * `postmaster.pid`, or null when the server is down.
   */
  status(): { pid: number; status: string } | null {
    let text: string;
    try {
      text = readFileSync(join(this.dataDir, 'postmaster.pid'), 'utf8');
    } catch {
      return null;
    }
    const lines = text.split('\n');
    const pid = Number(lines[0]);
    if (!Number.isInteger(pid) || pid <= 0) return null;
    return { pid, status: (lines[7] ?? '').trim() };
  }

  /**
   * Resolves with `performance.now()` of the first poll (every `everyMs`, default 2) at which a
   * postmaster other than `notPid` reports `ready`: the moment the server accepts connections again,
   * within `everyMs`. Rejects after `timeoutMs` (default 120 s).
   */
  async waitReady(options: { notPid?: number; everyMs?: number; timeoutMs?: number } = {}): Promise<number> {
    const every = options.everyMs ?? 2;
    const giveUp = performance.now() + (options.timeoutMs ?? 120_000);
    for (;;) {
      const s = this.status();
      const t = performance.now();
      if (s !== null && s.pid !== options.notPid && s.status === 'ready') return t;
      if (t > giveUp) throw new Error(`private PostgreSQL in ${this.dir} did not become ready (status ${JSON.stringify(s)})`);
      await sleepMs(every);
    }
  }

  /** Stops the server (immediate) and removes its directory. Never throws (for `afterAll`). */
  async destroy(): Promise<void> {
    await this.stop('immediate').catch(() => {});
    process.off('exit', this.#stopOnExit);
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch (error) {
      console.error(`could not remove ${this.dir}: ${String(error)}`);
    }
  }

  /**
   * The server's log file. The log must go to a file: a server started without `-l` keeps pg_ctl's
   * output pipes open, and the call never returns.
   */
  get #log(): string {
    return join(this.dir, 'server.log');
  }

  /** Appends `settings` and the server's own address and socket directory to `postgresql.conf` (later lines win). */
  #appendSettings(settings: PostgresSettings): void {
    const all: PostgresSettings = { ...settings, port: this.port, listen_addresses: '127.0.0.1', unix_socket_directories: this.dir };
    const lines = Object.entries(all).map(([name, value]) => `${name} = '${String(value).replaceAll("'", "''")}'`);
    appendFileSync(join(this.dataDir, 'postgresql.conf'), `${lines.join('\n')}\n`);
  }

  #run(tool: string, args: string[]): Promise<string> {
    return runTool(this.bin, tool, args, TOOL_TIMEOUT_MS);
  }
}

/** Runs a PostgreSQL binary, as the `postgres` user when we are root (initdb and postgres refuse root). */
function runTool(bin: string, tool: string, args: string[], timeoutMs: number): Promise<string> {
  const file = join(bin, tool);
  // A directory the postgres user can enter: PostgreSQL's tools fail in one they cannot.
  if (serverUser() === null) return runCommand(file, args, timeoutMs, tmpdir());
  return runCommand('runuser', ['-u', 'postgres', '--', file, ...args], timeoutMs, tmpdir());
}

/** `pg_ctl stop -m immediate`, synchronously (for a process `exit` hook); errors are ignored. */
function stopSync(bin: string, dataDir: string): void {
  const argv = [join(bin, 'pg_ctl'), '-D', dataDir, '-m', 'immediate', '-w', '-t', '30', 'stop'];
  const [command, args] = serverUser() === null ? [argv[0]!, argv.slice(1)] : ['runuser', ['-u', 'postgres', '--', ...argv]];
  spawnSync(command, args, { stdio: 'ignore', cwd: tmpdir(), timeout: 35_000 });
}

/** The bin directory of `PG_BIN`, or of the newest PostgreSQL installed under /usr/lib/postgresql (Debian layout). */
function pgBin(): string {
  if (process.env.PG_BIN !== undefined) return process.env.PG_BIN;
  let versions: string[] = [];
  try {
    versions = readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
  } catch {
    // no Debian layout
  }
  const v = versions[0];
  if (v === undefined)
    throw new Error('no PostgreSQL installation under /usr/lib/postgresql (set PG_BIN to the directory of initdb and pg_ctl)');
  return join('/usr/lib/postgresql', v, 'bin');
}

/** The `postgres` user's ids when we run as root (the server must run as someone else), else null. */
function serverUser(): { uid: number; gid: number } | null {
  if (userInfo().uid !== 0) return null;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const fields = line?.split(':');
  if (fields === undefined) throw new Error('running as root, but there is no postgres user to run the private server as');
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}
