export { PgConnection, type PgQuery, type PgSubmittable, type PgTransactionStatus } from './connection.js';
export { classifyPgCreateError } from './create-errors.js';
export { type PgConfig, PgFactory, type PgFactoryOptions, type PgResetMode, pgFactory } from './factory.js';
export {
  createPgPool,
  type PgConnectCallback,
  PgPool,
  type PgPoolClient,
  type PgPoolCompatOptions,
  type PgPoolEvents,
  type PgPoolOptions,
  type PgQueryCallback,
} from './pool.js';
export type { PgPoolLog } from './pool-options.js';
