export { RedisConnection, type RedisResetCommand } from './connection.js';
export { type RedisClass, type RedisConfig, RedisFactory, type RedisFactoryOptions, type RedisResetMode, redisFactory } from './factory.js';
export {
  createRedisPool,
  type RedisMessageListener,
  RedisPool,
  type RedisPoolOptions,
  type RedisSubscribeOptions,
  RedisSubscription,
} from './pool.js';
