export { InjectedFaultError, SimulatedConnectionError, SimulatedQueryError } from './errors.js';
export {
  type FaultController,
  type FaultInjectingFactory,
  type FaultOperation,
  type FaultOptions,
  type FaultSpec,
  withFaults,
} from './fault-injecting-factory.js';
export {
  FaultProxy,
  type FaultProxyAddress,
  type FaultProxyMode,
  type FaultProxyOptions,
  type FaultProxyStatistics,
} from './fault-proxy.js';
export type { Latency } from './latency.js';
export { SeededRandom } from './random.js';
export {
  SimulatedConnection,
  SimulatedFactory,
  type SimulatedFactoryCounts,
  type SimulatedFactoryOptions,
  type SimulatedQueryResult,
} from './simulated-factory.js';
export { addressOf, passwordOf, serverUrl, uniqueName, urlVia, withPassword } from './test-servers.js';
