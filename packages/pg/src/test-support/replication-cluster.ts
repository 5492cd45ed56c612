import { execFile, execFileSync } from 'node:child_process';
import { appendFileSync, chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

/**
 * A private PostgreSQL primary and a streaming replica for the multi-host tests: `initdb` in a temp
 * directory, `pg_basebackup -R` for the replica, both on free ports of 127.0.0.1 with trust auth. The
 * shared server on 5432 is never touched. When the tests run as root (initdb refuses root), the
 * servers run as the `postgres` user through `runuser`, in a directory it owns. {@link remove} stops
 * both and deletes the directory (called from `afterAll`, also after a failure).
 */

const run = promisify(execFile);

function binDir(): string {
  const versions = readdirSync('/usr/lib/postgresql')
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  if (versions[0] === undefined) throw new Error('no PostgreSQL installation under /usr/lib/postgresql');
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

const asRoot = process.getuid?.() === 0;

async function sh(tool: string, args: string[], timeoutMs = 120_000): Promise<string> {
  const bin = join(binDir(), tool);
  const [command, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  try {
    const { stdout } = await run(command, argv, { timeout: timeoutMs, cwd: tmpdir() });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message?: string };
    throw new Error(`${tool} ${args.join(' ')} failed: ${e.stderr?.trim() || e.stdout?.trim() || e.message}`);
  }
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

/** One server of the cluster. */
export class PrivateServer {
  constructor(
    readonly dataDir: string,
    readonly port: number,
  ) {}

  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** `127.0.0.1:<port>`. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    await sh('pg_ctl', ['-D', this.dataDir, '-l', `${this.dataDir}/server.log`, '-w', '-t', '120', 'start']);
  }

  /** `pg_ctl stop -m <mode>`; `immediate` is a crash (no checkpoint, sockets cut). */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await sh('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', '-t', '120', 'stop']);
  }

  /** `pg_ctl promote`: the standby becomes a primary (waits until it accepts writes). */
  async promote(): Promise<void> {
    await sh('pg_ctl', ['-D', this.dataDir, '-w', '-t', '120', 'promote']);
  }

  /** Runs SQL on a short-lived connection. */
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
}

/** A primary and one streaming replica. */
export class ReplicationCluster {
  private constructor(
    readonly root: string,
    readonly primary: PrivateServer,
    readonly replica: PrivateServer,
  ) {}

  /**
   * Creates and starts the primary, then the replica (`pg_basebackup -R`), and waits until the replica
   * streams. Settings keep them small and quick: few connections, small shared buffers, fsync off.
   */
  static async start(): Promise<ReplicationCluster> {
    const root = mkdtempSync(join(tmpdir(), 'pool-pg-replication-'));
    if (asRoot) chownSync(root, uidOf('postgres'), gidOf('postgres'));
    const primary = new PrivateServer(join(root, 'primary'), await freePort());
    const replica = new PrivateServer(join(root, 'replica'), await freePort());
    const cluster = new ReplicationCluster(root, primary, replica);
    try {
      await sh('initdb', ['-D', primary.dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
      const settings = [
        `port=${primary.port}`,
        "listen_addresses='127.0.0.1'",
        `unix_socket_directories='${root}'`,
        'max_connections=150',
        'shared_buffers=16MB',
        'fsync=off',
        'synchronous_commit=off',
        'full_page_writes=off',
        'wal_level=replica',
        'max_wal_senders=4',
        'hot_standby=on',
        'hot_standby_feedback=on',
        'wal_receiver_status_interval=1s',
      ];
      appendConf(primary.dataDir, settings);
      appendHba(primary.dataDir);
      await primary.start();
      await sh('pg_basebackup', [
        '-h',
        '127.0.0.1',
        '-p',
        String(primary.port),
        '-U',
        'postgres',
        '-D',
        replica.dataDir,
        '-R',
        '-X',
        'stream',
      ]);
      appendConf(replica.dataDir, [`port=${replica.port}`]);
      await replica.start();
      await cluster.waitStreaming();
      return cluster;
    } catch (error) {
      await cluster.remove();
      throw error;
    }
  }

  /** Resolves once the primary reports the replica as streaming. */
  async waitStreaming(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows = await this.primary.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_replication WHERE state = 'streaming'");
      if (Number(rows[0]?.n) > 0) return;
      if (Date.now() > deadline) throw new Error('the replica did not start streaming');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops both servers (immediately) and deletes the directory. Never throws. */
  async remove(): Promise<void> {
    for (const server of [this.primary, this.replica]) {
      await server.stop('immediate').catch(() => {});
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}

function appendConf(dataDir: string, lines: string[]): void {
  appendFileSync(join(dataDir, 'postgresql.conf'), `${lines.join('\n')}\n`);
}

function appendHba(dataDir: string): void {
  appendFileSync(join(dataDir, 'pg_hba.conf'), 'host replication all 127.0.0.1/32 trust\n');
}

function uidOf(user: string): number {
  return Number(idOf(user, '-u'));
}

function gidOf(user: string): number {
  return Number(idOf(user, '-g'));
}

function idOf(user: string, flag: string): string {
  return execFileSync('id', [flag, user]).toString().trim();
}
