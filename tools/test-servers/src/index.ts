/**
 * Private database servers for the monorepo's tests (never published): each test file that restarts,
 * stops, crashes or promotes a server starts its own on a free port of 127.0.0.1, so the shared servers
 * (PostgreSQL 5432, MariaDB 3306, Redis 6379) are never touched.
 */
export { freePort } from './free-port.js';
export { mariadbdPath, PrivateMariadb } from './private-mariadb.js';
export { type PostgresSettings, type PostgresStopMode, PrivatePostgres, type PrivatePostgresOptions } from './private-postgres.js';
export { PrivateRedis } from './private-redis.js';
export { isAlive, runCommand } from './process.js';
export { ReplicationCluster } from './replication-cluster.js';
