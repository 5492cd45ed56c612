/**
 * `@pool/core/adapter`: the plumbing every driver adapter needs (`@pool/pg`, `@pool/mysql`,
 * `@pool/redis`, or yours), so each one writes only what is particular to its driver. No dependencies:
 * it works on small structural interfaces and `@pool/core`'s public API.
 */
export { abortable, endOrDestroy, runOrAbandon } from './abort.js';
export { type AdapterLog, adapterLog, checkOptionalLogger, poolLogger } from './adapter-logger.js';
export { callbackFrom, isCallback, type NodeCallback, promiseOrCallback, rethrowLater } from './callback.js';
export { ConnectionLifecycle, type ConnectionStatus } from './connection-lifecycle.js';
export {
  type ConnectionUrlRules,
  describeEndpoint,
  describeUrl,
  type Endpoint,
  parseConnectionUrl,
  redactUrl,
} from './connection-url.js';
export { DriverFactory } from './driver-factory.js';
export { type DriverEventMap, DriverPool, DriverPoolClient, impersonate } from './driver-pool.js';
export { FactoryCounters } from './factory-counters.js';
export {
  checkBoolean,
  checkInteger,
  checkMilliseconds,
  checkOneOf,
  checkOptionalFunction,
  checkOptionKeys,
  optionConflict,
  PoolConfigMapping,
} from './options.js';
export { collectSecrets, scrubSecrets } from './secrets.js';
