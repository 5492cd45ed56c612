export { MysqlConnection, type MysqlQuery, type MysqlResetCommand } from './connection.js';
export { type MysqlConfig, MysqlFactory, type MysqlFactoryOptions, type MysqlResetMode, mysqlFactory } from './factory.js';
export { createMysqlPool, MysqlPool, type MysqlPoolCompatOptions, MysqlPoolConnection, type MysqlPoolOptions } from './pool.js';
