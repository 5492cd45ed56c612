import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './servers.js';

/**
 * A PostgreSQL server of its own, made by `initdb` in a temporary directory and run by `pg_ctl` on a free
 * port of 127.0.0.1 (trust authentication, the socket in the same directory). Unlike
 * {@link PrivatePostgres} (a Debian cluster), it needs only PostgreSQL's own binaries, and it tells
 * exactly when the server accepts connections again ({@link waitReady} reads the status PostgreSQL
 * writes to `postmaster.pid`), which is what the recovery measurement times from. {@link destroy}
 * stops it and removes the directory. The shared server on 5432 is never touched.
 *
 * @example
 * ```ts
 * const server = await TempPostgres.start();
 * await server.stop();
 * await server.startAgain();
 * await server.crash(); // pg_ctl restart -m immediate
 * await server.destroy();
 * ```
 */
export class TempPostgres {
  private constructor(
    readonly bin: string,
    readonly dir: string,
    readonly port: number,
  ) {}

  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** Runs `initdb` into a fresh temporary directory and starts the server. Servers of dead earlier runs are removed first. */
  static async start(): Promise<TempPostgres> {
    const bin = pgBin();
    await TempPostgres.removeStale(bin);
    const dir = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}_`));
    const owner = serverUser();
    if (owner !== null) chownSync(dir, owner.uid, owner.gid);
    const server = new TempPostgres(bin, dir, await freePort());
    try {
      await server.#run('initdb', ['-D', server.dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--no-instructions']);
      await server.startAgain();
    } catch (error) {
      await server.destroy();
      throw error;
    }
    return server;
  }

  /** Stops and removes servers of this suite whose creating process is gone (a run killed before its cleanup). */
  static async removeStale(bin = pgBin()): Promise<void> {
    for (const name of readdirSync(tmpdir())) {
      const m = new RegExp(`^${PREFIX}(\\d+)_`).exec(name);
      if (m === null || alive(Number(m[1]))) continue;
      const dir = join(tmpdir(), name);
      await sh(join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop'], 30_000).catch(() => '');
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Starts the server (after {@link stop}) and waits until it accepts connections. */
  async startAgain(): Promise<void> {
    await this.#run('pg_ctl', ['-D', this.dataDir, ...this.#serverArgs(), '-w', '-t', '120', 'start']);
  }

  /** Stops the server, fast mode (sessions are terminated, as on a real restart), and waits until it is down. */
  async stop(): Promise<void> {
    await this.#run('pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', '-t', '120', 'stop']);
  }

  /** `pg_ctl restart -m immediate`: every process is killed without a shutdown (a crash); the server recovers and starts again. */
  async crash(): Promise<void> {
    await this.#run('pg_ctl', ['-D', this.dataDir, ...this.#serverArgs(), '-m', 'immediate', '-w', '-t', '120', 'restart']);
  }

  /**
   * The server's log file and options. The log must go to a file: a server started without `-l` keeps
   * pg_ctl's output pipes open, and the call never returns.
   */
  #serverArgs(): string[] {
    return [
      '-l',
      join(this.dir, 'server.log'),
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c max_connections=200`,
    ];
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
   * Resolves with `performance.now()` of the first poll (every `everyMs`) at which a postmaster other
   * than `notPid` reports `ready`: the moment the server accepts connections again, within `everyMs`.
   */
  async waitReady(options: { notPid?: number; everyMs?: number; timeoutMs?: number } = {}): Promise<number> {
    const every = options.everyMs ?? 2;
    const giveUp = performance.now() + (options.timeoutMs ?? 120_000);
    for (;;) {
      const s = this.status();
      const t = performance.now();
      if (s !== null && s.pid !== options.notPid && s.status === 'ready') return t;
      if (t > giveUp) throw new Error(`private PostgreSQL in ${this.dir} did not become ready (status ${JSON.stringify(s)})`);
      await new Promise((resolve) => setTimeout(resolve, every));
    }
  }

  /** Stops the server (immediate) and removes its directory. Never throws (it is called from `afterAll`). */
  async destroy(): Promise<void> {
    await this.#run('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => {});
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch (error) {
      console.error(`could not remove ${this.dir}: ${String(error)}`);
    }
  }

  /** Runs a PostgreSQL binary as the `postgres` user when we are root (initdb and postgres refuse root). */
  #run(tool: string, args: string[]): Promise<string> {
    const file = join(this.bin, tool);
    if (serverUser() === null) return sh(file, args, 150_000);
    return sh('runuser', ['-u', 'postgres', '--', file, ...args], 150_000);
  }
}

const PREFIX = 'reliability-pg_';

const run = promisify(execFile);

async function sh(command: string, args: string[], timeoutMs: number): Promise<string> {
  try {
    const { stdout } = await run(command, args, { timeout: timeoutMs });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message?: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The bin directory of the newest PostgreSQL installed under /usr/lib/postgresql (Debian layout), or of `PG_BIN`. */
function pgBin(): string {
  if (process.env.PG_BIN !== undefined) return process.env.PG_BIN;
  const versions = readdirSync('/usr/lib/postgresql')
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
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
