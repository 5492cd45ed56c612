import { type PostgresSettings, PrivatePostgres } from './private-postgres.js';

/**
 * The primary's settings: small and quick (few connections, small shared buffers, no fsync), streaming
 * replication on, and a standby that reports back often.
 */
const PRIMARY_SETTINGS: PostgresSettings = {
  max_connections: 150,
  shared_buffers: '16MB',
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  wal_level: 'replica',
  max_wal_senders: 4,
  hot_standby: 'on',
  hot_standby_feedback: 'on',
  wal_receiver_status_interval: '1s',
};

/**
 * A private PostgreSQL primary and one streaming replica for the multi-host tests, each a
 * {@link PrivatePostgres} (the replica made by `pg_basebackup -R`). {@link destroy} stops both and
 * removes their directories (call it from `afterAll`, also after a failure).
 *
 * @example
 * ```ts
 * const cluster = await ReplicationCluster.start();
 * await cluster.primary.stop('immediate');
 * await cluster.replica.promote();
 * await cluster.destroy();
 * ```
 */
export class ReplicationCluster {
  private constructor(
    /** The primary (read-write). */
    readonly primary: PrivatePostgres,
    /** The hot standby that streams from {@link primary}. */
    readonly replica: PrivatePostgres,
  ) {}

  /** Creates and starts the primary, then the replica, and resolves once the replica streams. */
  static async start(): Promise<ReplicationCluster> {
    const primary = await PrivatePostgres.start({ settings: PRIMARY_SETTINGS });
    let replica: PrivatePostgres | undefined;
    try {
      replica = await PrivatePostgres.replicaOf(primary);
      const cluster = new ReplicationCluster(primary, replica);
      await cluster.waitStreaming();
      return cluster;
    } catch (error) {
      await replica?.destroy();
      await primary.destroy();
      throw error;
    }
  }

  /** Resolves once the primary reports the replica as streaming; rejects after `timeoutMs`. */
  async waitStreaming(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows = await this.primary.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_replication WHERE state = 'streaming'");
      if (Number(rows[0]?.n) > 0) return;
      if (Date.now() > deadline) throw new Error(`the replica on ${this.replica.address} did not start streaming within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops both servers (immediate) and removes their directories. Never throws (for `afterAll`). */
  async destroy(): Promise<void> {
    await Promise.all([this.primary.destroy(), this.replica.destroy()]);
  }
}
