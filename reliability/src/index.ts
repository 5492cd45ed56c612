export { pgBackend, type SoakBackend, simulatedBackend } from './soak/backends.js';
export { LogHistogram } from './soak/histogram.js';
export { formatSoakReport, runSoak, type SoakOptions, type SoakReport, soakFailures } from './soak/soak.js';
export { type Behaviour, type ControlledConnection, ControlledFactory, ControlledFault } from './support/controlled-factory.js';
export { type CallOutcome, errorKind, isClearError, Load, type LoadReport, sleep } from './support/load.js';
export { report } from './support/report.js';
export { freePort, mariadbdPath, PrivateMariadb, PrivatePostgres, PrivateRedis } from './support/servers.js';
