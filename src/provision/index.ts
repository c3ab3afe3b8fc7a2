export { provisionGrant, grantPreflight, runStep, runPhase, GRANT_PHASES, resolveRoleDefinitionId } from './runner';
export { provisionRevoke, REVOKE_PHASES, MIGRATION_REVOKE_PHASES } from './revoke';
export { provisionRevokeAll } from './revoke-all';
export { provisionMigration, MIGRATE_PHASES } from './migrate';
export { provisionAlsoClusters, provisionFederation, FEDERATE_PHASES } from './federate';
export { readInventory, type Inventory, type InventoryItem } from './inventory';
export { StepError, type Step, type StepResult } from './step';
export { TAG_APPROVER, isManagedByWid } from './identity';
export { DEFAULT_VERIFY_SCOPE, PROPAGATION_CODES } from './verify';
export {
  resolveLimits,
  type EngineDeps,
  type ProvisionLimits,
  type ProvisionLogger,
  type StepRecorder,
  type VerifySettings,
} from './context';
