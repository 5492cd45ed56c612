export { PrivateRedis } from '@pool/test-servers';
export { type ConnectAttempt, ConnectLog } from './recovery/connect-log.js';
export { median, type OutageFigures, outageFigures } from './recovery/outage-figures.js';
export {
  formatRecovery,
  measureRecovery,
  type Outage,
  type PoolKind,
  RECOVERY_BOUNDS,
  type RecoveryOptions,
  type RecoveryRun,
  recoveryFailures,
} from './recovery/recovery.js';
export { pgBackend, type SoakBackend, simulatedBackend } from './soak/backends.js';
export { CallLedger } from './soak/call-ledger.js';
export { LogHistogram } from './soak/histogram.js';
export { ProgressWindows, progressFailures } from './soak/progress-windows.js';
export { formatSoakReport, runSoak, type SoakOptions, type SoakReport, soakFailures } from './soak/soak.js';
export { type Behaviour, type ControlledConnection, ControlledFactory, ControlledFault } from './support/controlled-factory.js';
export { type CallOutcome, errorKind, isClearError, Load, type LoadReport, sleep } from './support/load.js';
export { report } from './support/report.js';
