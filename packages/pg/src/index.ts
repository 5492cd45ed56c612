export { PgConnection, type PgQuery, type PgSubmittable, type PgTransactionStatus } from './connection.js';
export { type PgConfig, PgFactory, type PgFactoryOptions, type PgResetMode, pgFactory } from './factory.js';
export { createPgPool, PgPool, PgPoolClient, type PgPoolCompatOptions, type PgPoolOptions } from './pool.js';
